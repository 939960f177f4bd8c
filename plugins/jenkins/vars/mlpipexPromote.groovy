// mlpipexPromote(config: 'mlpipex.yaml', args: ['--env=production'], githubCredentialsId: 'github-app')
def call(Map params = [:]) {
    Map cfg = mlpipexSupport.merge('mlpipexPromote', mlpipexSupport.defaults() + [extras: 'github,kserve'], params)
    int code = mlpipexSupport.run('promote', cfg)
    return mlpipexSupport.verdict('mlpipexPromote', code, cfg.failBuild)
}
