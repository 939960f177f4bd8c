"""``mlpipex monitor serve``: receive KServe's payload logs; metrics, drift alerts and a dashboard."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from mlpipex.errors import EXIT_OK, InputError

LOOPBACK = ("127.0.0.1", "::1", "localhost")
# Literals, not imports: `mlpipex --help` must not load numpy (mlpipex.monitor); a test checks they agree.
SYNC_POLICIES = ("os", "always")
UNKNOWN_WINDOWS = 8
KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


def register(commands: Any) -> None:
    parser = commands.add_parser("monitor", help="the monitoring service (payload logs, drift, alerts)")
    actions = parser.add_subparsers(dest="monitor_command", metavar="ACTION", required=True)
    serve = actions.add_parser("serve", help="receive KServe payload-logger CloudEvents; serve /metrics and /dashboard")
    serve.add_argument("-c", "--config", metavar="FILE", action="append", default=[],
                       help="mlpipex.yaml of a monitored model (repeat for several; default mlpipex.yaml if present)")  # fmt: skip
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8090, metavar="PORT", help="default 8090")
    serve.add_argument("--state", default=".mlpipex/monitor", metavar="DIR",
                       help="where windows and the alert outbox are kept across restarts")  # fmt: skip
    serve.add_argument("--reference", action="append", default=[], metavar="SERVICE=REF",
                       help="reference of an InferenceService: profile JSON, pulled package or REF@sha256:…")  # fmt: skip
    serve.add_argument("--schedule", metavar="DURATION", help="drift check interval, e.g. 30s (default monitoring.schedule)")
    serve.add_argument("--cluster", action="store_true",
                       help="show each InferenceService's rollout history on the dashboard (needs the kserve extra)")  # fmt: skip
    serve.add_argument("--context", metavar="NAME", help="kubeconfig context for --cluster (default: in-cluster or current)")
    serve.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file for --cluster")
    serve.add_argument("--tokens", metavar="FILE",
                       help="YAML list of bearer tokens with scopes (default $MLPIPEX_MONITOR_TOKENS_FILE); "
                            "$MLPIPEX_MONITOR_TOKEN adds one with every scope")  # fmt: skip
    serve.add_argument("--no-auth", action="store_true",
                       help="serve without tokens on a non-loopback address (behind a proxy that authenticates)")  # fmt: skip
    serve.add_argument("--metrics-auth", action="store_true", help="require a token with the metrics scope for /metrics")
    serve.add_argument("--journal-sync", choices=SYNC_POLICIES, default="os",
                       help="os (default): an event is acknowledged once written to the OS (survives a killed process); "
                            "always: once fsynced (survives power loss; group-committed)")  # fmt: skip
    serve.add_argument("--unknown-models", type=int, default=UNKNOWN_WINDOWS, metavar="N",
                       help="windows kept for InferenceServices without a config or reference "
                            f"(default {UNKNOWN_WINDOWS}; 0 refuses their events)")  # fmt: skip
    kafka = serve.add_argument_group("Kafka (payload logs through a topic; replicas in one consumer group)")
    kafka.add_argument("--kafka-bootstrap", metavar="HOST:PORT,...",
                       help="consume KServe's payload logs from Kafka (and write received ones there); "
                            "replicas with the same --kafka-group share the partitions")  # fmt: skip
    kafka.add_argument("--kafka-topic", default="kserve-payloads", metavar="NAME", help="the payload topic")
    kafka.add_argument("--kafka-group", default="mlpipex-monitor", metavar="NAME", help="the consumer group")
    kafka.add_argument("--kafka-partitions", type=int, default=6, metavar="N",
                       help="partitions when the monitor creates the topic (default 6; an existing topic keeps its own)")  # fmt: skip
    kafka.add_argument("--kafka-security-protocol", default="PLAINTEXT", choices=KAFKA_PROTOCOLS,
                       help="how to reach the brokers: plain, TLS, SASL, or SASL over TLS (default: PLAINTEXT)")
    kafka.add_argument("--kafka-sasl-mechanism", default="", metavar="NAME",
                       help="PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER (with a SASL protocol)")  # fmt: skip
    kafka.add_argument("--kafka-sasl-username", default="", metavar="NAME",
                       help="SASL user name (the password comes from --kafka-sasl-password-env, never a flag)")
    kafka.add_argument("--kafka-sasl-password-env", default="MLPIPEX_KAFKA_PASSWORD", metavar="VAR",
                       help="the environment variable holding the SASL password (never a flag)")  # fmt: skip
    kafka.add_argument("--kafka-ssl-ca", default="", metavar="FILE", help="CA bundle for the brokers' TLS")
    kafka.add_argument("--kafka-ssl-cert", default="", metavar="FILE", help="client certificate (mutual TLS)")
    kafka.add_argument("--kafka-ssl-key", default="", metavar="FILE", help="client key (mutual TLS)")
    serve.set_defaults(handler=serve_command)


def _references(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        service, sep, ref = item.partition("=")
        if not sep or not service or not ref:
            raise InputError(f"--reference {item!r} is not SERVICE=REF", fix="e.g. --reference fraud=profile.json")
        out[service] = ref
    return out


def serve_command(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        raise InputError("the monitor needs FastAPI and uvicorn", fix="pip install 'mlpipex[monitor]'") from None
    from mlpipex.config.durations import parse_duration
    from mlpipex.monitor import create_monitor_app, load_auth, settings_from_configs

    configs = list(args.config) or (["mlpipex.yaml"] if Path("mlpipex.yaml").is_file() else [])
    schedule = None
    if args.schedule:
        try:
            schedule = parse_duration(args.schedule)
        except ValueError:
            raise InputError(f"--schedule {args.schedule!r} is not a duration", fix="e.g. 30s, 15m, 1h") from None
    deployments = None
    if args.cluster:
        from mlpipex.monitor import cluster_history

        deployments = cluster_history(args.context, args.kubeconfig)
    if args.unknown_models < 0:
        raise InputError(f"--unknown-models {args.unknown_models} is negative", fix="0 refuses unknown models")
    auth = load_auth(args.tokens, open_metrics=not args.metrics_auth)
    if not auth.enabled and args.host not in LOOPBACK and not args.no_auth:
        raise InputError(f"the monitor would accept events and labels from anyone who reaches {args.host}",
                         fix="pass --tokens FILE or set MLPIPEX_MONITOR_TOKEN (see docs/monitoring.md), "
                             "or --no-auth when a proxy in front authenticates")  # fmt: skip
    if args.metrics_auth and not auth.enabled:
        raise InputError("--metrics-auth needs tokens", fix="pass --tokens FILE or set MLPIPEX_MONITOR_TOKEN")
    settings = settings_from_configs(configs, state_dir=Path(args.state), schedule=schedule,
                                     references=_references(args.reference), deployments=deployments)  # fmt: skip
    settings = dataclasses.replace(settings, auth=auth, journal_sync=args.journal_sync,
                                   limits=dataclasses.replace(settings.limits, unknown_windows=args.unknown_models))  # fmt: skip
    kafka = None
    if args.kafka_bootstrap:
        from mlpipex.monitor import KafkaSettings

        if args.kafka_partitions < 1:
            raise InputError(f"--kafka-partitions {args.kafka_partitions} is not positive", fix="e.g. 6")
        kafka = KafkaSettings(args.kafka_bootstrap, topic=args.kafka_topic, group=args.kafka_group,
                              partitions=args.kafka_partitions, security_protocol=args.kafka_security_protocol,
                              sasl_mechanism=args.kafka_sasl_mechanism, sasl_username=args.kafka_sasl_username,
                              sasl_password_env=args.kafka_sasl_password_env, ssl_ca=args.kafka_ssl_ca,
                              ssl_certificate=args.kafka_ssl_cert, ssl_key=args.kafka_ssl_key)  # fmt: skip
    app = create_monitor_app(settings, kafka=kafka)
    print(f"mlpipex monitor on http://{args.host}:{args.port} ({len(settings.models)} models with a reference; "
          f"drift every {settings.schedule_seconds:g} s; state in {settings.state_dir}; "
          f"{len(auth.tokens)} tokens; journal sync {settings.journal_sync})", file=sys.stderr)  # fmt: skip
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return EXIT_OK
