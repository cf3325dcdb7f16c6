/*
 * crc32.h - CRC-32 as zlib, PNG and gzip compute it (reflected
 * polynomial 0xEDB88320, initial and final value inverted): the
 * checksum of a queue entry's trailer (queue(5)), so that an entry torn
 * by a crash is recognised, and any zlib binding can check one.
 */
#ifndef POSTERN_CRC32_H
#define POSTERN_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* crc32_update(0, p, n) starts; feed further pieces with its result. */
uint32_t crc32_update(uint32_t crc, const void *p, size_t n);

#endif
