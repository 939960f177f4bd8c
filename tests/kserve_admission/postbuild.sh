# Copy the ConfigMap a default KServe install ships next to the binary: the
# defaulter reads it, and a copy from the module itself is the one KServe tested.
set -euo pipefail
out=$1 kserve_dir=$2
cp "$kserve_dir/config/configmap/inferenceservice.yaml" "$out/inferenceservice.yaml"
chmod u+w "$out/inferenceservice.yaml"
