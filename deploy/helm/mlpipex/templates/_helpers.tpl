{{/* Object names: FULLNAME-app, FULLNAME-monitor (63 characters at most, as Kubernetes names allow). */}}
{{- define "mlpipex.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mlpipex.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "mlpipex.app.fullname" -}}{{ include "mlpipex.fullname" . }}-app{{- end -}}
{{- define "mlpipex.monitor.fullname" -}}{{ include "mlpipex.fullname" . }}-monitor{{- end -}}

{{- define "mlpipex.app.serviceAccountName" -}}
{{- if .Values.app.serviceAccount.create -}}
{{- default (include "mlpipex.app.fullname" .) .Values.app.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.app.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "mlpipex.monitor.serviceAccountName" -}}
{{- if .Values.monitor.serviceAccount.create -}}
{{- default (include "mlpipex.monitor.fullname" .) .Values.monitor.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.monitor.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries; selectorLabels are the immutable subset a Deployment selects by. */}}
{{- define "mlpipex.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mlpipex
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "mlpipex.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mlpipex.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* image: REPOSITORY@DIGEST when a digest is given (pinned), else REPOSITORY:TAG (default appVersion). */}}
{{- define "mlpipex.image" -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The monitor's in-cluster URL (the App's default metrics_url). */}}
{{- define "mlpipex.monitor.url" -}}
{{- printf "http://%s.%s.svc:%v" (include "mlpipex.monitor.fullname" .) .Release.Namespace .Values.monitor.service.port -}}
{{- end -}}

{{/* Refusals: settings that would install something broken or unsafe. */}}
{{- define "mlpipex.validate" -}}
{{- if and .Values.monitor.enabled (gt (int .Values.monitor.replicas) 1) (not .Values.monitor.kafka.enabled) -}}
{{- fail "monitor.replicas > 1: each replica would hold its own windows and judge drift on a part of the events; keep monitor.replicas: 1 (several replicas need the Kafka mode, monitor.kafka, issue 22)" -}}
{{- end -}}
{{- if and .Values.monitor.enabled .Values.monitor.kafka.enabled -}}
{{- fail "monitor.kafka.enabled: the Kafka mode (issue 22) is not implemented in this chart version; set monitor.kafka.enabled: false" -}}
{{- end -}}
{{- if and .Values.monitor.enabled (not .Values.monitor.auth.disabled) (not .Values.monitor.auth.tokens) -}}
{{- fail "monitor.auth.tokens is empty: the monitor would accept events from anyone who reaches it; list the tokens of monitor.auth.existingSecret, or set monitor.auth.disabled: true only behind a proxy that authenticates" -}}
{{- end -}}
{{- end -}}

{{/* A value as an environment variable's text: Helm reads numbers as float64, so 26214400 would print
as 2.62144e+07; whole numbers print as integers. */}}
{{- define "mlpipex.scalar" -}}
{{- if and (kindIs "float64" .) (eq . (floor .)) -}}
{{- int64 . -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}
