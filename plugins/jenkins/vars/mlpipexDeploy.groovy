// def step = mlpipexDeploy(config: 'mlpipex.yaml', args: ['--env=production'], githubCredentialsId: 'github-app',
//                       registryCredentialsId: 'model-registry', kubeconfigCredentialsId: 'production-kubeconfig')
// step.artifact, step.environment, step.traffic, step.exitCode
def call(Map params = [:]) {
    Map cfg = mlpipexSupport.merge('mlpipexDeploy', mlpipexSupport.defaults() + mlpipexSupport.clusterDefaults() +
                                                  [extras: 'github,oci,kserve'], params)
    int code = mlpipexSupport.run('deploy', cfg)
    return mlpipexSupport.finish('mlpipexDeploy', code, cfg)
}
