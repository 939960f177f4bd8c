// def pkg = mlpipexPackage(config: 'mlpipex.yaml')   // after mlpipexGate: packages the gated model
// pkg.exitCode; the package lands in the OCI layout (default .mlpipex/oci) that mlpipexPush reads
def call(Map params = [:]) {
    Map cfg = mlpipexSupport.merge('mlpipexPackage', mlpipexSupport.defaults() + [extras: 'github,oci'], params)
    int code = mlpipexSupport.run('package', cfg)
    return mlpipexSupport.finish('mlpipexPackage', code, cfg)
}
