// def step = mlpipexDeploy(config: 'mlpipex.yaml', args: ['--env=production'], githubCredentialsId: 'github-app')
// step.artifact, step.environment, step.traffic, step.exitCode
def call(Map params = [:]) {
    Map cfg = mlpipexSupport.merge('mlpipexDeploy', mlpipexSupport.defaults() + [extras: 'github,kserve'], params)
    int code = mlpipexSupport.run('deploy', cfg)
    return mlpipexSupport.finish('mlpipexDeploy', code, cfg)
}
