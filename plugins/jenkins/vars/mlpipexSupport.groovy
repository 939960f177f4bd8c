// Shared by the mlpipex steps; not a step of its own. Logic stays in the mlpipex CLI:
// this only merges defaults, maps parameters to environment variables, runs the one
// constant script and reads back the exit code and the outputs the CLI wrote.

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
    List credentials = []
    if (cfg.githubCredentialsId) {
        credentials << usernamePassword(credentialsId: cfg.githubCredentialsId,
                                        usernameVariable: 'GITHUB_APP', passwordVariable: 'GITHUB_TOKEN')
    }
    if (cfg.registryCredentialsId) {
        credentials << usernamePassword(credentialsId: cfg.registryCredentialsId,
                                        usernameVariable: 'MLPIPEX_REGISTRY_USERNAME',
                                        passwordVariable: 'MLPIPEX_REGISTRY_PASSWORD')
    }
    if (cfg.kubeconfigCredentialsId) {
        // a Secret file credential: Jenkins writes it to a temporary file, KUBECONFIG is its path,
        // and removes it after the block; its contents never pass through this library or the log
        credentials << file(credentialsId: cfg.kubeconfigCredentialsId, variable: 'KUBECONFIG')
    }
    String script = libraryResource('io/mlpipex/run.sh')
    // The CLI appends its outputs: emptied first, the file holds this step's outputs only.
    writeFile(file: cfg.outputsFile, text: '')
    int code = 0
    withEnv(env) {
        if (credentials) {
            withCredentials(credentials) {
                code = sh(script: script, returnStatus: true)
            }
        } else {
            code = sh(script: script, returnStatus: true)
        }
    }
    return code
}

// The step's result: the CLI's outputs (verdict, reportPath, artifact, environment, traffic, …)
// and exitCode. Exit 1 (a gate failed) fails the build, or with failBuild: false marks it
// UNSTABLE; exit 2 and 3 always fail it.
Map finish(String step, int code, Map cfg) {
    Map result = parseOutputs(fileExists(cfg.outputsFile) ? readFile(cfg.outputsFile) : '')
    result.exitCode = code
    if (code == 0) {
        result.verdict = result.verdict ?: 'pass'
        return result
    }
    if (code == 1) {
        if (cfg.failBuild) {
            error("${step}: a gate failed (see the mlpipex report)")
        }
        currentBuild.result = 'UNSTABLE'
        result.verdict = result.verdict ?: 'fail'
        return result
    }
    error("${step}: mlpipex exited with ${code} (${code == 2 ? 'bad input or configuration' : 'an outside system failed'})")
}

// KEY=value lines of the CLI's dotenv file; report-path becomes reportPath. Plain loops only
// (no closures), so it runs under Jenkins' CPS transform as it is.
Map parseOutputs(String text) {
    Map found = [:]
    for (String line : text.split('\n')) {
        int eq = line.indexOf('=')
        if (eq <= 0) {
            continue
        }
        String[] parts = line.substring(0, eq).split('-')
        String key = parts[0]
        for (int i = 1; i < parts.length; i++) {
            key += parts[i].capitalize()
        }
        found[key] = line.substring(eq + 1)
    }
    return found
}

Map defaults() {
    return [config: 'mlpipex.yaml', extras: 'github', pipSpec: 'mlpipex', requirements: null, python: 'python3', args: [],
            githubCredentialsId: null, outputsFile: '.mlpipex/outputs.env', failBuild: true]
}

// What the steps that read the deployed model or reach the cluster add to defaults(): a
// username/password credential for the registry (the baseline pull, the environment tags) and
// a Secret file credential holding a kubeconfig. Listed explicitly, so an unknown key is refused.
Map clusterDefaults() {
    return [registryCredentialsId: null, kubeconfigCredentialsId: null]
}
