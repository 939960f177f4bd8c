"""Media types and annotation keys of an mlpipex model package."""

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
# KServe's storage initializer extracts tar and tar+gzip layers (and only their models/ subtree).
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
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

# The modelcar image (what KServe runs for a bare oci:// storageUri): a runnable image.
IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"
# On the artifact's manifest: the digest of its modelcar image (same repository). The
# artifact's digest covers it, so the gated REF@DIGEST pins the image too.
MODELCAR = "dev.mlpipex.modelcar.digest"
MODEL_CONFIG_LABEL = "dev.mlpipex.model.config"  # image label: digest of the package's config blob

# A deployment record: a referrer of the model manifest saying when it began to serve in an
# environment (written when deploy moves the environment tag; the tag itself cannot carry it).
DEPLOYMENT_ARTIFACT = "application/vnd.mlpipex.deployment.v1"
DEPLOYMENT_LAYER = "application/vnd.mlpipex.deployment.v1+json"
ENVIRONMENT = "dev.mlpipex.environment"
DEPLOYED_BY = "dev.mlpipex.deployed.by"
