#!/usr/bin/env bash
# Start or stop the local LDAP server (Debian's slapd) on 127.0.0.1, which the Thrift server
# checks SQL logins against (README, "SQL catalog"). One user, uid=$FLOWLAKE_SQL_USER under
# ou=people,dc=flowlake,dc=test, whose password is $FLOWLAKE_SQL_PASSWORD: read from the
# environment at start and stored only hashed (SSHA), in the directory's data under .run/.
#   FLOWLAKE_SQL_PASSWORD=... infra/ldap.sh start   # prints ldap://127.0.0.1:<port>; idempotent
#   infra/ldap.sh stop                               # stops the process whose PID start recorded
# Port: FLOWLAKE_LDAP_PORT (default 3890). State: .run/ldap-<port>/ (config and database, made
# afresh at each start) and .run/ldap-server-<port>.{pid,log}. `make ldap` installs slapd.
set -euo pipefail
cd "$(dirname "$0")/.."
source infra/local-service.sh
port="${FLOWLAKE_LDAP_PORT:-3890}"
user="${FLOWLAKE_SQL_USER:-analyst}"
base="ou=people,dc=flowlake,dc=test"
state="$PWD/.run/ldap-$port"

if [ "${1:-}" = start ] && ! service_running ldap-server "$port"; then
  command -v slapd >/dev/null || PATH="$PATH:/usr/sbin"
  command -v slapd >/dev/null || { echo "slapd is missing: run 'make ldap'" >&2; exit 1; }
  if [ -z "${FLOWLAKE_SQL_PASSWORD:-}" ]; then
    echo "set FLOWLAKE_SQL_PASSWORD to the password of the LDAP user $user" >&2; exit 1
  fi
  rm -rf "$state" && mkdir -p "$state/db" && chmod 700 "$state"
  cat > "$state/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $state/slapd.pid
database mdb
suffix "dc=flowlake,dc=test"
directory $state/db
maxsize 16777216
# A password is only ever compared (a bind), never read back; nobody writes.
access to attrs=userPassword by anonymous auth by * none
access to * by * read
CONF
  # The password reaches slappasswd on stdin, never on a command line another user can list.
  hash=$(printf '%s' "$FLOWLAKE_SQL_PASSWORD" | slappasswd -h '{SSHA}' -T /dev/stdin)
  slapadd -q -f "$state/slapd.conf" <<LDIF
dn: dc=flowlake,dc=test
objectClass: dcObject
objectClass: organization
o: flowlake
dc: flowlake

dn: $base
objectClass: organizationalUnit
ou: people

dn: uid=$user,$base
objectClass: inetOrgPerson
uid: $user
cn: $user
sn: $user
userPassword: $hash
LDIF
fi
# -d 0: in the foreground (service_main records its PID), logging nothing but fatal errors.
service_main ldap-server "$port" "${1:-}" slapd -d 0 -f "$state/slapd.conf" -h "ldap://127.0.0.1:$port/"
if [ "${1:-}" = start ]; then echo "ldap://127.0.0.1:$port"; fi
