// def step = mlpipexPromote(config: 'mlpipex.yaml', args: ['--env=production'], githubCredentialsId: 'github-app',
//                       registryCredentialsId: 'model-registry', kubeconfigCredentialsId: 'production-kubeconfig')
// step.artifact, step.environment, step.traffic, step.exitCode
def call(Map params = [:]) {
    Map cfg = mlpipexSupport.merge('mlpipexPromote', mlpipexSupport.defaults() + mlpipexSupport.clusterDefaults() +
                                                  [extras: 'github,oci,kserve'], params)
    int code = mlpipexSupport.run('promote', cfg)
    return mlpipexSupport.finish('mlpipexPromote', code, cfg)
}
