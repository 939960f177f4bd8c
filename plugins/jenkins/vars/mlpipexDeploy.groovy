// mlpipexDeploy(config: 'mlpipex.yaml', args: ['--env=production'], githubCredentialsId: 'github-app')
def call(Map params = [:]) {
    Map cfg = mlpipexSupport.merge('mlpipexDeploy', mlpipexSupport.defaults() + [extras: 'github,kserve'], params)
    int code = mlpipexSupport.run('deploy', cfg)
    return mlpipexSupport.verdict('mlpipexDeploy', code, cfg.failBuild)
}
