// Runs one vars/ step of the mlpipex Jenkins library with recorded stub steps
// (sh, junit, withEnv, withCredentials, usernamePassword, file, libraryResource, error, writeFile, readFile,
// fileExists) and prints what happened as JSON. Jenkins itself cannot run here; this is
// the quick stand-in (tests/jenkins/pipelineunit runs the library under JenkinsPipelineUnit).
//   groovy harness.groovy LIBRARY_ROOT STEP PARAMS_JSON SH_EXIT_STATUS [OUTPUTS_TEXT]
import groovy.json.JsonOutput
import groovy.json.JsonSlurper

def root = new File(args[0])
def stepName = args[1]
def params = new JsonSlurper().parseText(args[2])
int status = args[3] as int
String outputsText = args.length > 4 ? args[4] : ''  // what the CLI writes to MLPIPEX_OUTPUTS
def files = [:]
def calls = []
def envStack = []
def build = [result: null]

Binding binding = new Binding()
GroovyShell shell = new GroovyShell(binding)
def support = shell.parse(new File(root, 'vars/mlpipexSupport.groovy'))
def step = shell.parse(new File(root, "vars/${stepName}.groovy"))
binding.setVariable('mlpipexSupport', support)
binding.setVariable('currentBuild', build)
binding.setVariable('libraryResource', { String path -> new File(root, 'resources/' + path).text })
binding.setVariable('withEnv', { List env, Closure body ->
    envStack.push(env.collect { it.toString() })
    try { body() } finally { envStack.pop() }
})
binding.setVariable('usernamePassword', { Map m -> m.collectEntries { k, v -> [k, v.toString()] } })
binding.setVariable('file', { Map m -> [kind: 'file'] + m.collectEntries { k, v -> [k, v.toString()] } })
binding.setVariable('withCredentials', { List creds, Closure body ->
    calls << [step: 'withCredentials', credentials: creds]
    body()
})
binding.setVariable('sh', { Map m ->
    def env = envStack.flatten()
    calls << [step: 'sh', script: m.script, returnStatus: m.returnStatus, env: env]
    def target = env.find { it.startsWith('MLPIPEX_OUTPUTS=') }
    if (target) { files[target.substring('MLPIPEX_OUTPUTS='.length())] += outputsText }
    status
})
binding.setVariable('writeFile', { Map m -> files[m.file.toString()] = m.text.toString() })
binding.setVariable('readFile', { String path -> files[path] })
binding.setVariable('fileExists', { String path -> files.containsKey(path) })
binding.setVariable('junit', { Map m -> calls << [step: 'junit', testResults: m.testResults.toString(), allowEmptyResults: m.allowEmptyResults] })
binding.setVariable('error', { String message -> throw new IllegalStateException(message) })

def result = [calls: calls]
try {
    result.returned = step.call(params)
} catch (IllegalStateException e) {
    result.error = e.message
}
result.buildResult = build.result
println JsonOutput.toJson(result)
