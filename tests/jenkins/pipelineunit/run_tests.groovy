// The mlpipex shared library (plugins/jenkins) and the example Jenkinsfile, run by
// JenkinsPipelineUnit the way shared-library authors test theirs: the library loaded by
// @Library from its folder, Jenkins' steps (sh, withCredentials, junit, …) mocked and recorded.
//   java -cp 'LIB/*' groovy.ui.GroovyMain run_tests.groovy REPO_ROOT
// (tests/jenkins/test_pipeline_unit.py runs it; scripts/test.sh fetches LIB from Maven Central.)
import com.lesfurets.jenkins.unit.BasePipelineTest
import static com.lesfurets.jenkins.unit.global.lib.LibraryConfiguration.library
import static com.lesfurets.jenkins.unit.global.lib.LocalSource.localSource
import org.junit.Before
import org.junit.Test
import org.junit.runner.JUnitCore
import java.nio.file.Files

class MlpipexLibraryTest extends BasePipelineTest {
    static File repo
    Map files = [:]
    List shCalls = []
    List credentialBindings = []
    List junitCalls = []
    Map outputsByCommand = [:]
    Map statusByCommand = [:]
    List envStack = []

    @Before
    void setUp() {
        scriptRoots = [new File(repo, 'examples/jenkins').path] as String[]
        scriptExtension = ''
        super.setUp()
        // LocalSource looks for <root>/<name>@<version>: a link to the library folder
        File libs = Files.createTempDirectory('mlpipex-libs').toFile()
        Files.createSymbolicLink(new File(libs, 'mlpipex@main').toPath(), new File(repo, 'plugins/jenkins').toPath())
        helper.registerSharedLibrary(library().name('mlpipex').defaultVersion('main').allowOverride(false)
                .implicit(false).targetPath(libs.path).retriever(localSource(libs.path)).build())
        binding.setVariable('scm', [:])
        binding.setVariable('env', [BRANCH_NAME: 'main'])
        helper.registerAllowedMethod('checkout', [Map], null)
        helper.registerAllowedMethod('archiveArtifacts', [Map], null)
        helper.registerAllowedMethod('libraryResource', [String], { String path -> new File(repo, "plugins/jenkins/resources/$path").text })
        helper.registerAllowedMethod('usernamePassword', [Map], { Map m -> [kind: 'usernamePassword'] + m })
        helper.registerAllowedMethod('file', [Map], { Map m -> [kind: 'file'] + m })
        // As Jenkins binds them: usernamePassword sets two variables, file the path of a temporary copy
        helper.registerAllowedMethod('withCredentials', [List, Closure], { List creds, Closure body ->
            credentialBindings << creds
            List bound = creds.collectMany { Map c ->
                c.kind == 'file' ? ["${c.variable}=/jenkins/workspace/job@tmp/secretFiles/${c.credentialsId}".toString()]
                                 : ["${c.usernameVariable}=user-of-${c.credentialsId}".toString(),
                                    "${c.passwordVariable}=password-of-${c.credentialsId}".toString()]
            }
            envStack.push(bound)
            try { body() } finally { envStack.pop() }
        })
        helper.registerAllowedMethod('withEnv', [List, Closure], { List env, Closure body ->
            envStack.push(env.collect { it.toString() })
            try { body() } finally { envStack.pop() }
        })
        helper.registerAllowedMethod('writeFile', [Map], { Map m -> files[m.file.toString()] = m.text.toString() })
        helper.registerAllowedMethod('readFile', [String], { String path -> files[path] })
        helper.registerAllowedMethod('fileExists', [String], { String path -> files.containsKey(path) })
        helper.registerAllowedMethod('junit', [Map], { Map m -> junitCalls << m })
        helper.registerAllowedMethod('error', [String], { String message -> throw new IllegalStateException(message) })
        // sh runs run.sh in Jenkins: here the CLI's part is played from the tables above
        helper.registerAllowedMethod('sh', [Map], { Map m ->
            Map env = envStack.flatten().collectEntries { String kv -> kv.split('=', 2) as List }
            shCalls << [script: m.script, env: env, returnStatus: m.returnStatus,
                        credentials: credentialBindings ? credentialBindings[-1] : null]
            String command = env.MLPIPEX_COMMAND
            files[env.MLPIPEX_OUTPUTS] = (files[env.MLPIPEX_OUTPUTS] ?: '') + (outputsByCommand[command] ?: '')
            return statusByCommand[command] ?: 0
        })
    }

    def runJenkinsfile() {
        def script = loadScript('Jenkinsfile')
        script.run()
    }

    @Test
    void mainBranchGatesPackagesPushesAndDeploysTheArtifactItPushed() {
        String artifact = 'registry.example.com/models/breast-cancer:1.1.0@sha256:' + 'a' * 64
        outputsByCommand = [gate: 'verdict=pass\nreport-path=.mlpipex/report/report.md\nexit-code=0\n',
                            push: "artifact=${artifact}\n", deploy: "artifact=${artifact}\nenvironment=staging\ntraffic=10\n"]
        runJenkinsfile()
        assert shCalls*.env*.MLPIPEX_COMMAND == ['gate', 'package', 'push', 'deploy']
        String runSh = new File(repo, 'plugins/jenkins/resources/io/mlpipex/run.sh').text
        assert shCalls.every { it.script == runSh && it.returnStatus == true }  // one constant script
        assert shCalls[3].env.MLPIPEX_ARGS == "--env=staging\n--artifact=${artifact}"
        assert shCalls[3].env.MLPIPEX_EXTRAS == 'github,oci,kserve' && shCalls[2].env.MLPIPEX_EXTRAS == 'github,oci'
        assert shCalls[2].credentials*.credentialsId == ['github-app', 'model-registry']
        assert shCalls[2].credentials[1].passwordVariable == 'MLPIPEX_REGISTRY_PASSWORD'
        // deploy moves REPOSITORY:staging: the registry's credentials, and staging's kubeconfig
        assert shCalls[3].credentials*.credentialsId == ['github-app', 'model-registry', 'staging-kubeconfig']
        assert shCalls[3].env.KUBECONFIG == '/jenkins/workspace/job@tmp/secretFiles/staging-kubeconfig'
        assert shCalls[1].credentials == null || shCalls[1].credentials == shCalls[0].credentials
        assert junitCalls == [[testResults: '.mlpipex/report/junit.xml', allowEmptyResults: false]]
        assert helper.callStack.findAll { it.methodName == 'echo' }*.args.flatten()*.toString() ==
            ['mlpipex gate: pass (.mlpipex/report/report.md)', "serving ${artifact} in staging at 10%".toString()]
        assertJobStatusSuccess()
    }

    @Test
    void theGateGetsTheRegistryAndKubeconfigCredentialsAsEnvironment() {
        binding.setVariable('env', [BRANCH_NAME: 'PR-7'])
        runJenkinsfile()
        Map gate = shCalls[0]
        assert gate.credentials == [
            [kind: 'usernamePassword', credentialsId: 'github-app', usernameVariable: 'GITHUB_APP', passwordVariable: 'GITHUB_TOKEN'],
            [kind: 'usernamePassword', credentialsId: 'model-registry', usernameVariable: 'MLPIPEX_REGISTRY_USERNAME',
             passwordVariable: 'MLPIPEX_REGISTRY_PASSWORD'],
            [kind: 'file', credentialsId: 'production-kubeconfig', variable: 'KUBECONFIG'],
        ]
        // what run.sh, and through it mlpipex, sees
        assert gate.env.MLPIPEX_REGISTRY_USERNAME == 'user-of-model-registry'
        assert gate.env.MLPIPEX_REGISTRY_PASSWORD == 'password-of-model-registry'
        assert gate.env.KUBECONFIG == '/jenkins/workspace/job@tmp/secretFiles/production-kubeconfig'
        assert gate.env.MLPIPEX_EXTRAS == 'github,oci,kserve'
        // the step's own environment names no secret: only the bindings do
        assert !(gate.script.contains('KUBECONFIG=') || gate.script.contains('password-of'))
    }

    @Test
    void aPullRequestOnlyGates() {
        binding.setVariable('env', [BRANCH_NAME: 'PR-7'])
        runJenkinsfile()
        assert shCalls*.env*.MLPIPEX_COMMAND == ['gate']
    }

    @Test
    void aFailedGateFailsTheBuildBeforeAnythingShips() {
        statusByCommand = [gate: 1]
        outputsByCommand = [gate: 'verdict=fail\nexit-code=1\n']
        try {
            runJenkinsfile()
            assert false: 'the build should have failed'
        } catch (IllegalStateException e) {
            assert e.message == 'mlpipexGate: a gate failed (see the mlpipex report)'
        }
        assert shCalls*.env*.MLPIPEX_COMMAND == ['gate']
        assert junitCalls.size() == 1  // the failed gate's JUnit results are still published
    }

    @Test
    void aRegistryFailureIsExit3AndNamesIt() {
        statusByCommand = [push: 3]
        try {
            runJenkinsfile()
            assert false: 'the build should have failed'
        } catch (IllegalStateException e) {
            assert e.message == 'mlpipexPush: mlpipex exited with 3 (an outside system failed)'
        }
        assert shCalls*.env*.MLPIPEX_COMMAND == ['gate', 'package', 'push']
    }

    @Test
    void eachStepReadsOnlyItsOwnOutputs() {
        outputsByCommand = [gate: 'verdict=warn\nreport-path=r.md\n']
        def gate = loadScript(new File(repo, 'plugins/jenkins/vars/mlpipexGate.groovy').path)
        binding.setVariable('mlpipexSupport', loadScript(new File(repo, 'plugins/jenkins/vars/mlpipexSupport.groovy').path))
        assert gate.call([:]) == [verdict: 'warn', reportPath: 'r.md', exitCode: 0]
        assert gate.call([:]) == [verdict: 'warn', reportPath: 'r.md', exitCode: 0]  // the file was emptied first
    }
}

MlpipexLibraryTest.repo = new File(args[0]).canonicalFile
def result = JUnitCore.runClasses(MlpipexLibraryTest)
result.failures.each { println "FAIL ${it.testHeader}: ${it.message}\n${it.trace.readLines().take(12).join('\n')}" }
println "pipelineunit: ${result.runCount} run, ${result.failureCount} failed"
System.exit(result.wasSuccessful() ? 0 : 1)
