#!/usr/bin/env bash
# install-deps.sh installs the Debian packages tlsmail's tests talk to, when
# missing: the third-party SMTP peers of internal/interop and cmd/tlsmail
# (Postfix with Cyrus SASL, swaks with its Perl TLS modules, msmtp, socat,
# openssl, and python3 for the OpenSSL peer script), and PostgreSQL's server
# programs for the queue on PostgreSQL (internal/testpg runs a private cluster,
# and a private PgBouncer in front of it;
# the cluster Debian's package may start is not used), and gcc with libc6-dev
# for cgo, which go build -race needs (cmd/tlsmail builds tlsmail with -race
# for its multi-process queue test). Postfix is preseeded with "No configuration": no system mail
# server is set up or started; the tests run private instances.
# Idempotent; needs root and apt-get, else it says what is missing and
# exits 0 (the tests that need a package skip, naming it).
set -euo pipefail
pkgs=(postfix swaks msmtp socat openssl ca-certificates python3
	libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl
	libsasl2-modules sasl2-bin postgresql pgbouncer gcc libc6-dev)
missing=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	echo "install-deps: missing ${missing[*]} and not root with apt-get: tests that need them will skip" >&2
	exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
timeout 600 apt-get update -qq
if ! timeout 900 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/tlsmail-apt.log 2>&1; then
	tail -20 /tmp/tlsmail-apt.log >&2
	echo "install-deps: apt-get install failed" >&2
	exit 1
fi
