#!/bin/sh
# Installs the third-party programs that internal/interop tests against.
# Run as root on Debian (bookworm or later). Postfix is preseeded with
# "No configuration": the tests run their own private instances and no
# system-wide mail server is set up or started.
set -eu
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	postfix swaks msmtp socat openssl ca-certificates \
	libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl \
	libsasl2-modules sasl2-bin
