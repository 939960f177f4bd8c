// def gate = mlpipexGate(config: 'mlpipex.yaml', reportDir: '.mlpipex/report', failOn: 'fail', githubCredentialsId: 'github-app',
//                        registryCredentialsId: 'model-registry', kubeconfigCredentialsId: 'production-kubeconfig')
// gate.verdict, gate.reportPath, gate.exitCode
def call(Map params = [:]) {
    Map cfg = mlpipexSupport.merge('mlpipexGate', mlpipexSupport.defaults() + mlpipexSupport.clusterDefaults() +
                                              [extras: 'github,oci', reportDir: '.mlpipex/report', failOn: 'fail'], params)
    int code = mlpipexSupport.run('gate', cfg, ["MLPIPEX_REPORT_DIR=${cfg.reportDir}", "MLPIPEX_FAIL_ON=${cfg.failOn}"])
    if (code in [0, 1]) {
        junit(testResults: "${cfg.reportDir}/junit.xml", allowEmptyResults: false)
    }
    return mlpipexSupport.finish('mlpipexGate', code, cfg)
}
