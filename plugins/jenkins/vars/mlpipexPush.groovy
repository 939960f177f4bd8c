// def pushed = mlpipexPush(args: ['--to=registry.example.com/models/fraud'], registryCredentialsId: 'model-registry')
// pushed.artifact (REF@sha256:…, what mlpipexDeploy's --artifact takes), pushed.exitCode
def call(Map params = [:]) {
    Map cfg = mlpipexSupport.merge('mlpipexPush', mlpipexSupport.defaults() + [extras: 'github,oci', registryCredentialsId: null], params)
    int code = mlpipexSupport.run('push', cfg)
    return mlpipexSupport.finish('mlpipexPush', code, cfg)
}
