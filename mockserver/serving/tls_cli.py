"""``bgmock ca``: where bgmock's local CA certificate is, for clients to trust it.

Its output is one line and nothing else, so scripts can write
``export REQUESTS_CA_BUNDLE=$(bgmock ca)``; the help says how each ecosystem trusts a CA.
"""

from __future__ import annotations

import argparse

from ..config import Config

TRUST_HELP = """\
How clients trust bgmock's CA (created once, kept in --tls-dir):
  Python requests      export REQUESTS_CA_BUNDLE="$(bgmock ca)"
  httpx, urllib, OpenSSL, Go (Linux), Ruby
                       export SSL_CERT_FILE="$(bgmock ca)"
  Node.js              export NODE_EXTRA_CA_CERTS="$(bgmock ca)"
  Java (JDK 11+)       java $(bgmock ca --java) ...
                       (writes truststore.p12 beside the CA and prints the
                       -Djavax.net.ssl.trustStore=... flags)
  curl                 curl --cacert "$(bgmock ca)" https://127.0.0.1:8080/...
  .NET, PHP, others    add the PEM file to the trust store they read

Only processes you point at it trust it; nothing is installed system-wide. The CA's
private key (ca-key.pem, mode 0600) never leaves that directory: anyone who can read it
can make certificates your configured clients accept, so keep the directory private and
never trust this CA in a browser or system store you use for the real web.
"""


def _ca_args(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = TRUST_HELP
    parser.add_argument("--tls-dir", metavar="DIR",
                        help="directory of the CA (default $XDG_DATA_HOME/bgmock or ~/.local/share/bgmock)")
    parser.add_argument("--config", metavar="FILE", help="settings file whose tls_dir to use")
    parser.add_argument("--java", action="store_true",
                        help="write a PKCS#12 trust store for Java and print the java flags that use it")


def _ca(args: argparse.Namespace) -> int:
    from .tls import TRUSTSTORE_PASSWORD, authority

    config = Config.from_file(args.config) if args.config else Config()
    if args.tls_dir:
        config = config.replace(tls_dir=args.tls_dir)
    found = authority(config)
    if args.java:
        store = found.java_truststore()
        print(f"-Djavax.net.ssl.trustStore={store} -Djavax.net.ssl.trustStorePassword={TRUSTSTORE_PASSWORD} "
              "-Djavax.net.ssl.trustStoreType=PKCS12")
    else:
        print(found.cert_path)
    return 0


COMMANDS = {"ca": (_ca_args, _ca)}
HELP = {"ca": "print the path of bgmock's local CA certificate, for clients to trust (bgmock ca --help says how)"}
