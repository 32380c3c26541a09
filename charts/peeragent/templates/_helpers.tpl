{{/* Object names. */}}
{{- define "peeragent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "peeragent.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "peeragent.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries; call with (dict "root" $ "component" "agent"). */}}
{{- define "peeragent.labels" -}}
helm.sh/chart: {{ include "peeragent.chart" .root }}
{{ include "peeragent.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: peeragent
{{- end }}

{{/* Labels that select one component's pods; stable across upgrades. */}}
{{- define "peeragent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "peeragent.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The headless Service whose EndpointSlices list the scheduler replicas (PEERAGENT_Kubernetes__ShardService). */}}
{{- define "peeragent.schedulerShardService" -}}
{{- printf "%s-scheduler-shards" (include "peeragent.fullname" .) }}
{{- end }}

{{- define "peeragent.agentImage" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "peeragent.schedulerImage" -}}
{{- printf "%s:%s" .Values.scheduler.image.repository (default .Chart.AppVersion .Values.scheduler.image.tag) }}
{{- end }}

{{/* Ports: fixed, because the installer's mirror URL, the probes and the alerts name them. */}}
{{- define "peeragent.mirrorUrl" -}}http://127.0.0.1:65001{{- end }}

{{/* The TLS Secret a component mounts. */}}
{{- define "peeragent.tlsSecretName" -}}
{{- if .root.Values.certManager.enabled }}
{{- printf "%s-%s-tls" (include "peeragent.fullname" .root) .component }}
{{- else if .root.Values.tls.existingSecret }}
{{- .root.Values.tls.existingSecret }}
{{- else }}
{{- printf "%s-tls" (include "peeragent.fullname" .root) }}
{{- end }}
{{- end }}

{{/* agent.store.quota in bytes: a whole number, or one with a Ki, Mi, Gi or Ti suffix. */}}
{{- define "peeragent.quotaBytes" -}}
{{- $quota := .Values.agent.store.quota }}
{{- if kindIs "string" $quota }}
{{- if not (regexMatch "^[1-9][0-9]*(Ki|Mi|Gi|Ti)?$" $quota) }}
{{- fail (printf "agent.store.quota %q: expected bytes or a number with Ki, Mi, Gi or Ti, e.g. 20Gi" $quota) }}
{{- end }}
{{- $number := regexFind "^[0-9]+" $quota | int64 }}
{{- $unit := trimPrefix (regexFind "^[0-9]+" $quota) $quota }}
{{- $factor := get (dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776) $unit | int64 }}
{{- mul $number $factor }}
{{- else }}
{{- $quota | int64 }}
{{- end }}
{{- end }}

{{/* The agent runs as root only for Docker Engine: port 443 and the installer's 0600 keys. */}}
{{- define "peeragent.agentUid" -}}
{{- if .Values.docker.enabled }}0{{ else }}{{ .Values.agent.runAsUser | int64 }}{{ end }}
{{- end }}

{{/*
The agent's registries: .Values.registries plus a bare entry for each docker registry not listed, because the
agent maps a distribution domain to the registry of its own list it was made from.
*/}}
{{- define "peeragent.registries" -}}
{{- $list := list }}
{{- $hosts := list }}
{{- range .Values.registries }}
{{- $list = append $list . }}
{{- $hosts = append $hosts .host }}
{{- end }}
{{- if .Values.docker.enabled }}
{{- range .Values.docker.registries }}
{{- if not (has . $hosts) }}
{{- $list = append $list (dict "host" .) }}
{{- $hosts = append $hosts . }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml (dict "items" $list) }}
{{- end }}

{{/*
The enabled runtimes, each with the installer arguments and the host paths it needs. Call with (dict "root" $ "verb" "install").
Each host path is mounted at /host<path>, and the installer runs with --root /host, so the paths it is given are the node's.
*/}}
{{- define "peeragent.runtimes" -}}
{{- $v := .root.Values }}
{{- $runtimes := list }}
{{- if $v.containerd.enabled }}
{{- $args := list "--runtime" "containerd" "--certs-dir" $v.containerd.configPath "--containerd-config" $v.containerd.configFile }}
{{- range $v.containerd.registries }}{{ $args = concat $args (list "--registry" .) }}{{ end }}
{{- $paths := list (dict "name" "containerd-certs" "path" $v.containerd.configPath "type" "DirectoryOrCreate" "readOnly" false) }}
{{- if $v.containerd.editConfig }}
{{- $args = append $args "--edit-containerd-config" }}
{{- $configDir := dir $v.containerd.configFile }}
{{- $paths = list (dict "name" "containerd-config" "path" $configDir "type" "Directory" "readOnly" false) }}
{{- if not (hasPrefix (printf "%s/" $configDir) $v.containerd.configPath) }}
{{- $paths = append $paths (dict "name" "containerd-certs" "path" $v.containerd.configPath "type" "DirectoryOrCreate" "readOnly" false) }}
{{- end }}
{{- else }}
{{- $paths = append $paths (dict "name" "containerd-config" "path" $v.containerd.configFile "type" "File" "readOnly" true) }}
{{- end }}
{{- $runtimes = append $runtimes (dict "name" "containerd" "args" $args "paths" $paths) }}
{{- end }}
{{- if $v.crio.enabled }}
{{- $args := list "--runtime" "crio" "--registries-conf-dir" $v.crio.registriesConfDir }}
{{- range $v.crio.registries }}{{ $args = concat $args (list "--registry" .) }}{{ end }}
{{- $paths := list (dict "name" "crio-registries-conf" "path" $v.crio.registriesConfDir "type" "DirectoryOrCreate" "readOnly" false) }}
{{- $runtimes = append $runtimes (dict "name" "crio" "args" $args "paths" $paths) }}
{{- end }}
{{- if $v.docker.enabled }}
{{- $args := list "--runtime" "docker" "--docker-certs-dir" $v.docker.certsDir "--hosts-file" $v.docker.hostsFile "--docker-address" $v.docker.address "--domain-pattern" $v.docker.domainPattern "--docker-tls-dir" $v.docker.tlsDir }}
{{- range $v.docker.registries }}{{ $args = concat $args (list "--registry" .) }}{{ end }}
{{- $paths := list (dict "name" "docker-certs" "path" $v.docker.certsDir "type" "DirectoryOrCreate" "readOnly" false) (dict "name" "docker-hosts" "path" $v.docker.hostsFile "type" "File" "readOnly" false) (dict "name" "docker-tls" "path" $v.docker.tlsDir "type" "DirectoryOrCreate" "readOnly" false) }}
{{- $runtimes = append $runtimes (dict "name" "docker" "args" $args "paths" $paths) }}
{{- end }}
{{- toYaml (dict "items" $runtimes) }}
{{- end }}

{{/* The installer init containers, one per enabled runtime. Call with (dict "root" $ "verb" "install"|"uninstall"). */}}
{{- define "peeragent.installerContainers" -}}
{{- $root := .root }}
{{- $verb := .verb }}
{{- range (include "peeragent.runtimes" (dict "root" $root) | fromYaml).items }}
- name: {{ $verb }}-{{ .name }}
  image: {{ include "peeragent.agentImage" $root }}
  imagePullPolicy: {{ $root.Values.image.pullPolicy }}
  command: ["dotnet", "/app/installer/PeerAgent.Installer.dll"]
  args:
    - {{ $verb }}
    - --root
    - /host
    - --state-dir
    - {{ printf "%s/%s" $root.Values.installer.stateDir .name }}
    - --mirror-url
    - {{ include "peeragent.mirrorUrl" $root }}
    {{- range .args }}
    - {{ . | quote }}
    {{- end }}
    {{- range $root.Values.installer.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  # Root, to write the runtime's files under /etc, which root owns; no capability beyond that ownership.
  securityContext:
    runAsUser: 0
    runAsGroup: 0
    runAsNonRoot: false
    privileged: false
    allowPrivilegeEscalation: false
    readOnlyRootFilesystem: true
    capabilities:
      drop: ["ALL"]
  resources:
    {{- toYaml $root.Values.installer.resources | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
    - name: installer-state
      mountPath: {{ printf "/host%s" $root.Values.installer.stateDir }}
    {{- range .paths }}
    - name: {{ .name }}
      mountPath: {{ printf "/host%s" .path }}
      {{- if .readOnly }}
      readOnly: true
      {{- end }}
    {{- end }}
{{- end }}
{{- end }}

{{/* The host path volumes the installer containers mount. */}}
{{- define "peeragent.installerVolumes" -}}
- name: installer-state
  hostPath:
    path: {{ .Values.installer.stateDir }}
    type: DirectoryOrCreate
{{- range (include "peeragent.runtimes" (dict "root" .) | fromYaml).items }}
{{- range .paths }}
- name: {{ .name }}
  hostPath:
    path: {{ .path }}
    type: {{ .type }}
{{- end }}
{{- end }}
{{- end }}

{{/* Checks of values the schema cannot express. */}}
{{- define "peeragent.validate" -}}
{{- $v := .Values }}
{{- if not (or $v.containerd.enabled $v.crio.enabled $v.docker.enabled) }}
{{- fail "enable at least one runtime: containerd.enabled, crio.enabled or docker.enabled" }}
{{- end }}
{{- if and $v.certManager.enabled $v.tls.existingSecret }}
{{- fail "certManager.enabled and tls.existingSecret are exclusive: pick one source of certificates" }}
{{- end }}
{{- $data := clean $v.agent.dataDir }}
{{- range $name, $path := dict "installer.stateDir" $v.installer.stateDir "docker.tlsDir" $v.docker.tlsDir }}
{{- $p := clean $path }}
{{- if or (eq $p $data) (hasPrefix (printf "%s/" $data) $p) (hasPrefix (printf "%s/" $p) $data) }}
{{- fail (printf "agent.dataDir %s and %s %s overlap: the store must have its own directory" $v.agent.dataDir $name $path) }}
{{- end }}
{{- end }}
{{- if and (eq $v.scheduler.kubernetes.mode "disabled") (gt (int $v.scheduler.replicas) 1) }}
{{- fail (printf "scheduler.replicas=%d with scheduler.kubernetes.mode=disabled: scheduler replicas find each other through the Kubernetes API (the EndpointSlices of %s), which disabled turns off; set scheduler.replicas=1 or scheduler.kubernetes.mode=auto" (int $v.scheduler.replicas) (include "peeragent.schedulerShardService" .)) }}
{{- end }}
{{- if and $v.crio.enabled (has "_default" $v.crio.registries) }}
{{- fail "crio.registries: CRI-O has no catch-all mirror, list the registries instead of _default" }}
{{- end }}
{{- if and $v.docker.enabled (has "_default" $v.docker.registries) }}
{{- fail "docker.registries: each Docker registry needs its own distribution domain, list them instead of _default" }}
{{- end }}
{{- end }}
