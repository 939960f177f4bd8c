// Command kserve-admission runs KServe's own InferenceService admission code, the
// functions KServe's webhooks call, so tests see KServe's verdict instead of our
// picture of its rules.
//
// It is a long-lived process: one JSON request per line on stdin, one JSON verdict
// per line on stdout. A request is {"op": "create"|"update", "object": {...},
// "old": {...}}; the verdict is {"allowed": true, "object": <defaulted>,
// "warnings": [...]} or {"allowed": false, "stage": "mutating"|"validating",
// "webhook": <name>, "message": <KServe's error>}.
//
// The defaulter reads the `inferenceservice-config` ConfigMap through a Kubernetes
// client, as in the cluster. This program serves the ConfigMap a default install
// ships (KServe's config/configmap/inferenceservice.yaml, copied from the module at
// build time) from a loopback HTTP endpoint and points KUBECONFIG at it, so the
// webhook's Default method runs unchanged.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kserve/kserve/pkg/apis/serving/v1beta1"
	"github.com/kserve/kserve/pkg/constants"
)

// The webhook names of KServe's config/webhook manifests: the API server names the
// webhook that denied a request in its message.
const (
	mutatingWebhook   = "inferenceservice.kserve-webhook-server.defaulter"
	validatingWebhook = "inferenceservice.kserve-webhook-server.validator"
)

type request struct {
	Op     string          `json:"op"`
	Object json.RawMessage `json:"object"`
	Old    json.RawMessage `json:"old,omitempty"`
}

type verdict struct {
	Allowed  bool                      `json:"allowed"`
	Object   *v1beta1.InferenceService `json:"object,omitempty"`
	Warnings []string                  `json:"warnings,omitempty"`
	Stage    string                    `json:"stage,omitempty"`
	Webhook  string                    `json:"webhook,omitempty"`
	Message  string                    `json:"message,omitempty"`
}

func main() {
	configMapPath := flag.String("configmap", "", "KServe's inferenceservice-config ConfigMap (YAML)")
	defaultMode := flag.String("default-deployment-mode", "", "override the ConfigMap's deploy.defaultDeploymentMode")
	flag.Parse()
	if *configMapPath == "" {
		fatal(fmt.Errorf("-configmap is required"))
	}
	configMap, err := loadConfigMap(*configMapPath, *defaultMode)
	if err != nil {
		fatal(err)
	}
	if err := serveConfigMap(configMap); err != nil {
		fatal(err)
	}
	run(bufio.NewScanner(os.Stdin), json.NewEncoder(os.Stdout))
}

func run(in *bufio.Scanner, out *json.Encoder) {
	in.Buffer(make([]byte, 1<<20), 64<<20)
	ctx := context.Background()
	defaulter := &v1beta1.InferenceServiceDefaulter{}
	validator := &v1beta1.InferenceServiceValidator{}
	// The first line says the process is ready, so a caller can wait for it.
	_ = out.Encode(map[string]any{"ready": true, "kserve": kserveVersion()})
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			_ = out.Encode(map[string]any{"error": "bad request: " + err.Error()})
			continue
		}
		_ = out.Encode(admit(ctx, defaulter, validator, req))
	}
}

// admit runs the API server's admission order: the mutating webhook on the new
// object, then the validating webhook on the defaulted object (with the stored
// object for an update).
func admit(ctx context.Context, d *v1beta1.InferenceServiceDefaulter, v *v1beta1.InferenceServiceValidator, req request) any {
	isvc := &v1beta1.InferenceService{}
	if err := json.Unmarshal(req.Object, isvc); err != nil {
		return map[string]any{"error": "object: " + err.Error()}
	}
	if err := d.Default(ctx, isvc); err != nil {
		return verdict{Stage: "mutating", Webhook: mutatingWebhook, Message: err.Error()}
	}
	var warnings []string
	var err error
	switch req.Op {
	case "create":
		var w []string
		w, err = v.ValidateCreate(ctx, isvc)
		warnings = w
	case "update":
		old := &v1beta1.InferenceService{}
		if uerr := json.Unmarshal(req.Old, old); uerr != nil {
			return map[string]any{"error": "old: " + uerr.Error()}
		}
		var w []string
		w, err = v.ValidateUpdate(ctx, old, isvc)
		warnings = w
	default:
		return map[string]any{"error": fmt.Sprintf("op %q: want create or update", req.Op)}
	}
	if err != nil {
		return verdict{Stage: "validating", Webhook: validatingWebhook, Message: err.Error(), Warnings: warnings}
	}
	return verdict{Allowed: true, Object: isvc, Warnings: warnings}
}

func loadConfigMap(path, defaultMode string) (*corev1.ConfigMap, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cm := &corev1.ConfigMap{}
	if err := yaml.Unmarshal(raw, cm); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if defaultMode != "" {
		cm.Data["deploy"] = fmt.Sprintf(`{"defaultDeploymentMode": %q}`, defaultMode)
	}
	return cm, nil
}

// serveConfigMap answers the one read the defaulter makes (GET the ConfigMap in
// KServe's namespace) on loopback and writes a kubeconfig that points at it.
func serveConfigMap(cm *corev1.ConfigMap) error {
	body, err := json.Marshal(cm)
	if err != nil {
		return err
	}
	want := fmt.Sprintf("/api/v1/namespaces/%s/configmaps/%s", constants.KServeNamespace, constants.InferenceServiceConfigMapName)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() {
		_ = http.Serve(listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if r.Method != http.MethodGet || r.URL.Path != want {
				w.WriteHeader(http.StatusNotFound)
				_, _ = fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":%q}`, r.URL.Path)
				return
			}
			_, _ = w.Write(body)
		}))
	}()
	dir, err := os.MkdirTemp("", "kserve-admission-")
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	text := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "http://%s"}}]
users: [{name: local, user: {}}]
contexts: [{name: local, context: {cluster: local, user: local}}]
current-context: local
`, listener.Addr().String())
	if err := os.WriteFile(kubeconfig, []byte(text), 0o600); err != nil {
		return err
	}
	return os.Setenv("KUBECONFIG", kubeconfig)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "kserve-admission:", err)
	os.Exit(2)
}
