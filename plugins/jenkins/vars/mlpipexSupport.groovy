// Shared by the mlpipex steps; not a step of its own. Logic stays in the mlpipex CLI:
// this only merges defaults, maps parameters to environment variables and reads the exit code.

Map merge(String step, Map defaults, Map params) {
    Set unknown = params.keySet() - defaults.keySet()
    if (unknown) {
        error("${step}: unknown parameter(s) ${unknown.sort()}; known: ${defaults.keySet().sort()}")
    }
    Map merged = [:]
    merged.putAll(defaults)
    merged.putAll(params)
    return merged
}

int run(String command, Map cfg, List extraEnv = []) {
    List env = [
        "MLPIPEX_COMMAND=${command}",
        "MLPIPEX_CONFIG=${cfg.config}",
        "MLPIPEX_EXTRAS=${cfg.extras}",
        "MLPIPEX_PIP_SPEC=${cfg.pipSpec}",
        "MLPIPEX_REQUIREMENTS=${cfg.requirements ?: ''}",
        "MLPIPEX_PYTHON=${cfg.python}",
        "MLPIPEX_ARGS=${(cfg.args ?: []).join('\n')}",
        "MLPIPEX_OUTPUTS=${cfg.outputsFile}",
    ] + extraEnv
    String script = libraryResource('io/mlpipex/run.sh')
    int code = 0
    withEnv(env) {
        if (cfg.githubCredentialsId) {
            withCredentials([usernamePassword(credentialsId: cfg.githubCredentialsId,
                                              usernameVariable: 'GITHUB_APP', passwordVariable: 'GITHUB_TOKEN')]) {
                code = sh(script: script, returnStatus: true)
            }
        } else {
            code = sh(script: script, returnStatus: true)
        }
    }
    return code
}

String verdict(String step, int code, boolean failBuild) {
    if (code == 0) {
        return 'pass'
    }
    if (code == 1) {
        if (failBuild) {
            error("${step}: a gate failed (see the mlpipex report)")
        }
        currentBuild.result = 'UNSTABLE'
        return 'fail'
    }
    error("${step}: mlpipex exited with ${code} (${code == 2 ? 'bad input or configuration' : 'an outside system failed'})")
}

Map defaults() {
    return [config: 'mlpipex.yaml', extras: 'github', pipSpec: 'mlpipex', requirements: null, python: 'python3', args: [],
            githubCredentialsId: null, outputsFile: '.mlpipex/outputs.env', failBuild: true]
}
