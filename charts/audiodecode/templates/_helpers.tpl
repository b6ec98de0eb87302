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
{{- if and $p.enabled $p.autoscaling.enabled }}
{{- include "audiodecode.metricArrives" (dict "root" $ "what" (printf "pools.%s.autoscaling" $pool) "metric" "audiodecode_in_flight_requests") }}
{{- end }}
{{- end }}
{{- if .Values.router.autoscaling.enabled }}
{{- include "audiodecode.metricArrives" (dict "root" $ "what" "router.autoscaling" "metric" "audiodecode_router_in_flight_requests") }}
{{- end }}
{{- range $what := list "prometheusRule" "dashboard" }}
{{- if and (index $.Values.metrics $what).enabled (not $.Values.metrics.serviceMonitor.enabled) }}
{{- fail (printf "metrics.%s.enabled=true needs metrics.serviceMonitor.enabled=true: its queries read the series (and their pool label) the ServiceMonitor scrapes" $what) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* An autoscaler's metric reaches it only through Prometheus, which scrapes our pods by the
ServiceMonitor: without it the HPA reports FailedGetPodsMetric, scales up on CPU alone and never down. */}}
{{- define "audiodecode.metricArrives" -}}
{{- if not .root.Values.metrics.serviceMonitor.enabled }}
{{- fail (printf "%s.enabled=true scales on %s, which reaches the autoscaler only from Prometheus: set metrics.serviceMonitor.enabled=true (and metrics.serviceMonitor.labels to what your Prometheus' serviceMonitorSelector matches, e.g. release=kube-prometheus-stack), with prometheus-adapter (infra/prometheus-adapter-values.yaml) or keda.enabled=true; or set %s.enabled=false for fixed replicas" .what .metric .what) }}
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

{{/* A Kubernetes quantity of the schema's form (digits, then Ki/Mi/Gi/Ti or nothing for bytes) in
whole MiB, rounded up: the emptyDirs' sizes, summed into an ephemeral-storage request. */}}
{{- define "audiodecode.mebibytes" -}}
{{- $n := regexFind "^[0-9]+" . | int64 -}}
{{- $unit := trimPrefix (regexFind "^[0-9]+" .) . -}}
{{- if eq $unit "Ki" }}{{ div (add $n 1023) 1024 }}
{{- else if eq $unit "Mi" }}{{ $n }}
{{- else if eq $unit "Gi" }}{{ mul $n 1024 }}
{{- else if eq $unit "Ti" }}{{ mul $n 1048576 }}
{{- else }}{{ div (add $n 1048575) 1048576 }}
{{- end -}}
{{- end -}}

{{/* A container's resources with an ephemeral-storage request for the emptyDirs its pod writes
(dict "resources" R "mebibytes" N), unless the values ask for one: the scheduler then places the
pod only on a node with that much local storage, instead of evicting it when the disk fills. */}}
{{- define "audiodecode.resources" -}}
{{- $r := deepCopy .resources -}}
{{- $requests := $r.requests | default dict -}}
{{- if not (hasKey $requests "ephemeral-storage") }}
{{- $_ := set $requests "ephemeral-storage" (printf "%dMi" (.mebibytes | int64)) }}
{{- end }}
{{- $_ := set $r "requests" $requests -}}
{{- toYaml $r -}}
{{- end -}}
