"""The Jenkins library and examples/jenkins/Jenkinsfile under JenkinsPipelineUnit (issue 18).

run_tests.groovy holds the JUnit tests (credentials, `sh` exit codes, `junit`, the outputs
each step returns, the Jenkinsfile's stages); this runs them with the jars scripts/test.sh
copies from Maven Central (com.lesfurets:jenkins-pipeline-unit 1.1, the newest release there).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.kserve.cluster_fake.kserve_admission import unavailable

ROOT = Path(__file__).resolve().parents[2]
SUITE = Path(__file__).with_name("pipelineunit") / "run_tests.groovy"


def test_library_and_jenkinsfile_under_jenkins_pipeline_unit():
    lib = Path(os.environ.get("MLPIPEX_PIPELINEUNIT_LIB") or ROOT / ".cache-maven" / "pipelineunit-lib")
    java = shutil.which("java")
    if not java or not list(lib.glob("jenkins-pipeline-unit-*.jar")):
        unavailable(f"JenkinsPipelineUnit is not in {lib} or java is missing (scripts/test.sh fetches it with mvn)")
    done = subprocess.run([java, "-cp", f"{lib}/*", "groovy.ui.GroovyMain", str(SUITE), str(ROOT)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "pipelineunit: 6 run, 0 failed" in done.stdout
