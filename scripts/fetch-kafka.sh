#!/usr/bin/env bash
# Fetch the Apache Kafka broker the monitor's Kafka tests and benchmark run (KRaft,
# single node, on the machine's Java 17), once per version, and print its folder.
#
#   scripts/fetch-kafka.sh
#
# The version and the artifacts are in tests/kafka_broker/pom.xml (kafka_2.13, the broker;
# kafka-tools, the perf tools): Maven copies them with their runtime dependencies from
# Maven Central into .cache-kafka/<version>/libs/. A stamp of the pom makes a second run
# fetch nothing. Exit 3 when Java or Maven is missing or the fetch fails.
set -euo pipefail
cd "$(dirname "$0")/.."
pom=tests/kafka_broker/pom.xml
command -v java >/dev/null 2>&1 || { echo "error: java is not installed (the Kafka broker needs Java 17)" >&2; exit 3; }
command -v mvn >/dev/null 2>&1 || { echo "error: mvn is not installed (it fetches the Kafka broker)" >&2; exit 3; }
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")
out=".cache-kafka/$version"
stamp=$(sha256sum "$pom" | cut -c1-16)
if [ -f "$out/libs/kafka_2.13-$version.jar" ] && [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$out"
  exit 0
fi
echo "==> fetching Apache Kafka $version into $out" >&2
start=$(date +%s)
rm -rf "$out/libs" "$out/.stamp"
mkdir -p "$out"
mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$(cd "$out" && pwd)/libs" >&2 \
  || { echo "error: fetching Apache Kafka $version failed (see above)" >&2; exit 3; }
echo "$stamp" > "$out/.stamp"
echo "==> fetched Apache Kafka $version in $(( $(date +%s) - start )) s" >&2
echo "$out"
