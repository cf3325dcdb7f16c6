# postern - a hardened per-connection mail receiver.
# make; make test; make install PREFIX=/usr/local DESTDIR=
# Reasons and log lines are cut to fixed buffers on purpose, hence
# -Wno-format-truncation.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/postern
MANDIR ?= $(PREFIX)/share/man
CONTRIBDIR ?= $(PREFIX)/share/postern/contrib
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
# Only for make install-sendmail: where local programs look for them.
SENDMAIL_PATH ?= /usr/sbin/sendmail
USRBINDIR ?= /usr/bin
QUEUE_OWNER ?= postern
CC ?= cc
VERSION = 0.6.0
# The directories the programs use without -C and -Q; the only ones a
# set-user-ID enqueue (sendmail's way into the queue) will use.
CONFIG_DIR ?= /etc/postern
QUEUE_DIR ?= /var/spool/postern

WARN = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wno-format-truncation
HARDEN = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
HARDEN_LD = -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack
CFLAGS ?= -O2 -g
ifeq ($(SANITIZE),1)
CFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
HARDEN = -fPIE
endif
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -DPOSTERN_VERSION=\"$(VERSION)\" \
	-DCONFIG_DEFAULT_DIR=\"$(CONFIG_DIR)\" -DQUEUE_DEFAULT_DIR=\"$(QUEUE_DIR)\" \
	-DLIBEXEC_DEFAULT_DIR=\"$(LIBEXECDIR)\" \
	$(WARN) $(HARDEN) $(CFLAGS)
ALL_LDFLAGS = $(HARDEN_LD) $(CFLAGS) $(LDFLAGS)

# The programs a super-server, systemd or another program runs go in
# LIBEXECDIR, out of PATH (as Postfix keeps its smtpd), so that none of
# them meets OpenSMTPD's smtpd or glibc's makedb; those an administrator
# types are named postern-*.
LIBEXEC_PROGRAMS = smtpd enqueue deliver pop3d
SBIN_PROGRAMS = postern-makedb postern-queue postern-sendmail
PROGRAMS = $(LIBEXEC_PROGRAMS) $(SBIN_PROGRAMS)
MAN8 = postern-smtpd.8 postern-enqueue.8 postern-makedb.8 postern-deliver.8 \
	postern-pop3d.8 postern-queue.8 postern-sendmail.8
MAN5 = postern-queue.5 postern.conf.5
MAN7 = postern.7
CONTRIB = postern-smtpd.socket postern-smtpd@.service \
	postern-submission.socket postern-submission@.service \
	postern-submissions.conf postern-deliver.service \
	postern-deliver-once.service postern-deliver.timer \
	postern-pop3.socket postern-pop3@.service postern-pop3s.conf \
	postern-smtpd-starttls.conf postern-submission-starttls.conf \
	postern-pop3-stls.conf postern-submissions.socket \
	postern-submissions@.service postern-pop3s.socket postern-pop3s@.service \
	xinetd.postern xinetd.postern-tls inetd.conf tcpserver-run postern.sysusers postern.tmpfiles

# The shared objects go in an archive, so that each program links only
# those it uses: smtpd, without dns.o, needs no libresolv, and every
# library not loaded is time saved on each connection (bench/start).
COMMON_OBJS = util.o log.o config.o conffile.o queue.o qentry.o qlock.o crc32.o fsorder.o db.o \
	tables.o address.o access.o route.o dns.o dnslist.o sha256.o srs.o envedit.o \
	dsn.o envelope.o masquerade.o base64.o nexthop.o
COMMON = common.a
SMTPD_OBJS = smtpd.o driver.o tlsexec.o session.o message.o content.o hdrscan.o \
	msgedit.o body.o client.o \
	checks.o clientcheck.o dnsbl.o dnsq.o policy.o sockclient.o milter.o milterwire.o miltermod.o queuesink.o qmailqueue.o privdrop.o auth.o md5.o $(COMMON)
ENQUEUE_OBJS = enqueue.o privdrop.o $(COMMON)
MAKEDB_OBJS = makedb.o $(COMMON)
DELIVER_OBJS = deliver.o attempt.o children.o state.o maildir.o remote.o smtpconn.o \
	tlsclient.o tlslog.o smtpauth.o bounce.o list.o privdrop.o \
	$(COMMON)
POP3D_OBJS = pop3d.o pop3.o mailbox.o wire.o md5.o driver.o tlsexec.o client.o \
	maildir.o privdrop.o auth.o $(COMMON)
QUEUETOOL_OBJS = queuetool.o qitem.o state.o privdrop.o $(COMMON)
SENDMAIL_OBJS = sendmail.o addrlist.o $(COMMON)
# Listed libraries a program does not use are not loaded; libcrypt is
# loaded by auth.c on the first password check (dlopen, in libc).
LIBS = -Wl,--as-needed -lresolv

all: $(PROGRAMS)

common.a: $(COMMON_OBJS)
	rm -f $@
	$(AR) rcs $@ $(COMMON_OBJS)

smtpd: $(SMTPD_OBJS)
	$(CC) -o $@ $(SMTPD_OBJS) $(ALL_LDFLAGS) $(LIBS)

enqueue: $(ENQUEUE_OBJS)
	$(CC) -o $@ $(ENQUEUE_OBJS) $(ALL_LDFLAGS) $(LIBS)

postern-makedb: $(MAKEDB_OBJS)
	$(CC) -o $@ $(MAKEDB_OBJS) $(ALL_LDFLAGS) $(LIBS)

deliver: $(DELIVER_OBJS)
	$(CC) -o $@ $(DELIVER_OBJS) $(ALL_LDFLAGS) $(LIBS)

pop3d: $(POP3D_OBJS)
	$(CC) -o $@ $(POP3D_OBJS) $(ALL_LDFLAGS) $(LIBS)

postern-queue: $(QUEUETOOL_OBJS)
	$(CC) -o $@ $(QUEUETOOL_OBJS) $(ALL_LDFLAGS) $(LIBS)

postern-sendmail: $(SENDMAIL_OBJS)
	$(CC) -o $@ $(SENDMAIL_OBJS) $(ALL_LDFLAGS) $(LIBS)

%.o: %.c *.h .build-flags
	$(CC) $(ALL_CFLAGS) -c $<

# The flags of the last build: objects made with other flags (a
# SANITIZE=1 build, say) are made again, so that a plain make, and a
# benchmark that runs one, never uses them unknowingly.
BUILD_FLAGS = $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS)
.build-flags: FORCE
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' >$@

# Both install the Debian packages they need first (tests/packages), or
# say which to install: on a fresh machine make is the only prerequisite.
test:
	@./tests/install-deps build run test
	$(MAKE) all
	bats tests

# libFuzzer targets (clang): FUZZTIME seconds each.
FUZZTIME ?= 60
fuzz:
	for t in session address tables pop3 dns dnsq remote qentry addrlist envelope masquerade tlslog milter hdrscan; do \
		./tests/fuzz/run $$t $(FUZZTIME) || exit 1; \
	done

# Static analysis: cppcheck's warning, performance and portability
# classes (its style class is opinion), and the clang-tidy checks listed
# with their reasons in .clang-tidy.  Any finding fails.
lint:
	cppcheck --enable=warning,performance,portability --std=c11 \
		-D_GNU_SOURCE --suppress=missingIncludeSystem --inline-suppr \
		--error-exitcode=1 -q *.c
	clang-tidy --quiet *.c -- -std=c11 -D_GNU_SOURCE

lint-man:
	mandoc -Tlint -Wwarning $(MAN8) $(MAN5) $(MAN7)

run:
	@./tests/install-deps build run
	$(MAKE) all
	./contrib/run-local

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(SBIN_PROGRAMS) $(DESTDIR)$(BINDIR)/
	install -m 0755 $(LIBEXEC_PROGRAMS) $(DESTDIR)$(LIBEXECDIR)/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	# The examples name /usr/local/...: they get these directories instead.
	install -d $(DESTDIR)$(CONTRIBDIR)
	for f in $(CONTRIB); do \
		sed -e 's|/usr/local/libexec/postern|$(LIBEXECDIR)|g' \
		    -e 's|/usr/local/sbin|$(BINDIR)|g' contrib/$$f \
		    >$(DESTDIR)$(CONTRIBDIR)/$$f || exit 1; \
	done
	chmod 0755 $(DESTDIR)$(CONTRIBDIR)/tcpserver-run
	# The postern user and its directories, for systemd-sysusers and
	# systemd-tmpfiles (both read PREFIX/lib/*.d under /usr and /usr/local).
	install -d $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 0644 contrib/postern.sysusers $(DESTDIR)$(SYSUSERSDIR)/postern.conf
	install -m 0644 contrib/postern.tmpfiles $(DESTDIR)$(TMPFILESDIR)/postern.conf

# What makes postern the host's MTA for local programs, on request only,
# as it replaces what another MTA installed: enqueue set-user-ID to the
# postern user (so that any local user can queue mail through
# postern-sendmail), and the sendmail, mailq and newaliases links.
install-sendmail:
	chown $(QUEUE_OWNER) $(DESTDIR)$(LIBEXECDIR)/enqueue
	chmod 4711 $(DESTDIR)$(LIBEXECDIR)/enqueue
	install -d $(DESTDIR)$(dir $(SENDMAIL_PATH)) $(DESTDIR)$(USRBINDIR)
	ln -sf $(BINDIR)/postern-sendmail $(DESTDIR)$(SENDMAIL_PATH)
	ln -sf $(BINDIR)/postern-sendmail $(DESTDIR)$(USRBINDIR)/mailq
	ln -sf $(BINDIR)/postern-sendmail $(DESTDIR)$(USRBINDIR)/newaliases

uninstall:
	for p in $(SBIN_PROGRAMS); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for p in $(LIBEXEC_PROGRAMS); do rm -f $(DESTDIR)$(LIBEXECDIR)/$$p; done
	-rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null
	for m in $(MAN8); do rm -f $(DESTDIR)$(MANDIR)/man8/$$m; done
	for m in $(MAN5); do rm -f $(DESTDIR)$(MANDIR)/man5/$$m; done
	for m in $(MAN7); do rm -f $(DESTDIR)$(MANDIR)/man7/$$m; done
	for f in $(CONTRIB); do rm -f $(DESTDIR)$(CONTRIBDIR)/$$f; done
	rm -f $(DESTDIR)$(SYSUSERSDIR)/postern.conf $(DESTDIR)$(TMPFILESDIR)/postern.conf
	-rmdir $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(PREFIX)/lib 2>/dev/null
	-rmdir $(DESTDIR)$(CONTRIBDIR) $(DESTDIR)$(PREFIX)/share/postern 2>/dev/null
	-rmdir $(DESTDIR)$(PREFIX)/libexec 2>/dev/null

clean:
	rm -f *.o common.a $(PROGRAMS) .build-flags
	rm -rf tests/fuzz/bin

.PHONY: all test fuzz lint lint-man run install install-sendmail uninstall clean FORCE
