// mlpipexRollback(config: 'mlpipex.yaml', args: ['--env=production'], githubCredentialsId: 'github-app')
def call(Map params = [:]) {
    Map cfg = mlpipexSupport.merge('mlpipexRollback', mlpipexSupport.defaults() + [extras: 'github,kserve'], params)
    int code = mlpipexSupport.run('rollback', cfg)
    return mlpipexSupport.verdict('mlpipexRollback', code, cfg.failBuild)
}
