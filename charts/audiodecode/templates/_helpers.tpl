{{- define "audiodecode.fullname" -}}
{{- printf "%s" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "audiodecode.labels" -}}
app.kubernetes.io/name: audiodecode
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "audiodecode.selector" -}}
app.kubernetes.io/name: audiodecode
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "audiodecode.image" -}}
{{- $tag := .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s%s" .root.Values.image.repository $tag (.suffix | default "") -}}
{{- end -}}

{{/* Non-root, no privilege escalation, read-only root file system, no capabilities. */}}
{{- define "audiodecode.containerSecurity" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: ["ALL"]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "audiodecode.sharedEnv" -}}
- name: AUDIODECODE_MAX_UPLOAD_BYTES
  value: {{ .Values.maxUploadBytes | int64 | quote }}
- name: AUDIODECODE_REQUEST_TIMEOUT_S
  value: {{ .Values.requestTimeoutSeconds | int64 | quote }}
- name: AUDIODECODE_DRAIN_GRACE_S
  value: {{ include "audiodecode.drainGrace" . | quote }}
- name: PORT
  value: {{ .Values.service.port | int64 | quote }}
{{- end -}}

{{/* Rules that span several values, with messages that say what to change. */}}
{{- define "audiodecode.validate" -}}
{{- range $pool := list "gpu" "cpu" }}
{{- $p := index $.Values.pools $pool }}
{{- if and (eq (toString $p.strategy.maxSurge) "0" "0%") (eq (toString $p.strategy.maxUnavailable) "0" "0%") }}
{{- fail (printf "pools.%s.strategy: maxSurge and maxUnavailable are both 0, so a rollout could never replace a pod: set one of them" $pool) }}
{{- end }}
{{- if and (eq $pool "gpu") $p.enabled (not (hasKey $p.resources.limits ($p.gpuResource | default "nvidia.com/gpu"))) }}
{{- fail (printf "pools.gpu.resources.limits must ask for the GPU resource pools.gpu.gpuResource=%s (or set gpuResource to the name the device plugin advertises)" ($p.gpuResource | default "nvidia.com/gpu")) }}
{{- end }}
{{- if and $p.autoscaling.scaleToZero (not $.Values.keda.enabled) }}
{{- fail (printf "pools.%s.autoscaling.scaleToZero=true needs keda.enabled=true: a HorizontalPodAutoscaler cannot scale to zero" $pool) }}
{{- end }}
{{- end }}
{{- range $what := list "prometheusRule" "dashboard" }}
{{- if and (index $.Values.metrics $what).enabled (not $.Values.metrics.serviceMonitor.enabled) }}
{{- fail (printf "metrics.%s.enabled=true needs metrics.serviceMonitor.enabled=true: its queries read the series (and their pool label) the ServiceMonitor scrapes" $what) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The drain grace: drainGraceSeconds, or requestTimeoutSeconds when empty; never shorter than a request may run. */}}
{{- define "audiodecode.drainGrace" -}}
{{- $grace := .Values.drainGraceSeconds | default .Values.requestTimeoutSeconds | int64 -}}
{{- if lt $grace (.Values.requestTimeoutSeconds | int64) -}}
{{- fail (printf "drainGraceSeconds (%d) is shorter than requestTimeoutSeconds (%d): a rollout or scale-down would cut requests still running; raise drainGraceSeconds or leave it empty" $grace (.Values.requestTimeoutSeconds | int64)) -}}
{{- end -}}
{{- $grace -}}
{{- end -}}

{{/* Termination: the preStop sleep, then SIGTERM and the drain, then a margin for the exit. */}}
{{- define "audiodecode.termination" -}}
terminationGracePeriodSeconds: {{ add (.Values.preStopSeconds | int64) (include "audiodecode.drainGrace" . | int64) 15 }}
{{- end -}}

{{- define "audiodecode.lifecycle" -}}
{{- if gt (.Values.preStopSeconds | int64) 0 -}}
lifecycle:
  preStop:
    sleep:
      seconds: {{ .Values.preStopSeconds | int64 }}
{{- end }}
{{- end -}}
