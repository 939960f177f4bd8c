// def step = mlpipexPromote(config: 'mlpipex.yaml', args: ['--env=production'], githubCredentialsId: 'github-app')
// step.artifact, step.environment, step.traffic, step.exitCode
def call(Map params = [:]) {
    Map cfg = mlpipexSupport.merge('mlpipexPromote', mlpipexSupport.defaults() + [extras: 'github,kserve'], params)
    int code = mlpipexSupport.run('promote', cfg)
    return mlpipexSupport.finish('mlpipexPromote', code, cfg)
}
