"""Media types and annotation keys of an mlpipex model package."""

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
# KServe's storage initializer extracts tar and tar+gzip layers (and only their models/ subtree).
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MODEL_ARTIFACT = "application/vnd.mlpipex.model.v1"
MODEL_CONFIG = "application/vnd.mlpipex.model.config.v1+json"
REPORT_ARTIFACT = "application/vnd.mlpipex.gate-report.v1"
REPORT_LAYER = "application/vnd.mlpipex.gate-report.v1+json"
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"

SOURCE = "org.opencontainers.image.source"
REVISION = "org.opencontainers.image.revision"
CREATED = "org.opencontainers.image.created"
VERSION = "org.opencontainers.image.version"
TITLE = "org.opencontainers.image.title"
REF_NAME = "org.opencontainers.image.ref.name"
