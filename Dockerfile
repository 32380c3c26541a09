# syntax=docker/dockerfile:1
# The node agent (default target) and the scheduler (--target scheduler). Multi-stage: restore (cached while
# only project files change), publish ReadyToRun (less JIT on first use), then a small ASP.NET runtime image
# that runs as a non-root user.
#
# The agent image also carries the node installer in /app/installer/. The chart's init container (install) and
# post-delete hook (uninstall, cleanup-report, cleanup-wait) run it as
#   command: ["dotnet", "/app/installer/PeerAgent.Installer.dll"]   args: ["install", "--root", "/host", ...]
# with the host paths mounted; those containers run as root, the agent itself as "app".
#
# These images are not built in this repository's CI: the build machines reach no container registry with the
# base images. The Dockerfile is checked by review; the processes it packages are tested from the same publish
# outputs (dotnet build) by the functional tests.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props BannedSymbols.txt .editorconfig ./
COPY src/PeerAgent.Core/PeerAgent.Core.csproj src/PeerAgent.Core/
COPY src/PeerAgent.Protocol/PeerAgent.Protocol.csproj src/PeerAgent.Protocol/
COPY src/PeerAgent.Hosting/PeerAgent.Hosting.csproj src/PeerAgent.Hosting/
COPY src/PeerAgent.Scheduling/PeerAgent.Scheduling.csproj src/PeerAgent.Scheduling/
COPY src/PeerAgent.Scheduler/PeerAgent.Scheduler.csproj src/PeerAgent.Scheduler/
COPY src/PeerAgent.Agent/PeerAgent.Agent.csproj src/PeerAgent.Agent/
COPY src/PeerAgent.Installer/PeerAgent.Installer.csproj src/PeerAgent.Installer/
# The agent references the scheduling library (embedded when no scheduler address is set), not the scheduler process.
RUN dotnet restore src/PeerAgent.Agent/PeerAgent.Agent.csproj -r linux-x64 -p:PublishReadyToRun=true \
 && dotnet restore src/PeerAgent.Scheduler/PeerAgent.Scheduler.csproj -r linux-x64 -p:PublishReadyToRun=true \
 && dotnet restore src/PeerAgent.Installer/PeerAgent.Installer.csproj -r linux-x64 -p:PublishReadyToRun=true
COPY proto/ proto/
COPY src/ src/
RUN dotnet publish src/PeerAgent.Agent/PeerAgent.Agent.csproj -c Release -r linux-x64 --self-contained false \
      --no-restore -p:PublishReadyToRun=true -o /app/agent \
 && dotnet publish src/PeerAgent.Scheduler/PeerAgent.Scheduler.csproj -c Release -r linux-x64 --self-contained false \
      --no-restore -p:PublishReadyToRun=true -o /app/scheduler \
 && dotnet publish src/PeerAgent.Installer/PeerAgent.Installer.csproj -c Release -r linux-x64 --self-contained false \
      --no-restore -p:PublishReadyToRun=true -o /app/installer

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS scheduler
WORKDIR /app
COPY --from=build /app/scheduler ./
USER app
ENV DOTNET_gcServer=0
# gRPC (mutual TLS; mount ca.crt, tls.crt, tls.key and set PEERAGENT_Tls__*), metrics and health
EXPOSE 65004 65005
ENTRYPOINT ["dotnet", "PeerAgent.Scheduler.dll"]

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS agent
WORKDIR /app
# The aspnet image ships the unprivileged "app" user (uid 1654); the store must be writable by it.
RUN mkdir -p /var/lib/peeragent && chown app:app /var/lib/peeragent
COPY --from=build /app/agent ./
COPY --from=build /app/installer ./installer/
USER app
ENV PEERAGENT_Store__DataDir=/var/lib/peeragent \
    DOTNET_gcServer=0
# mirror (loopback by default; the DaemonSet uses hostNetwork), peer gRPC (mutual TLS), metrics and health
EXPOSE 65001 65002 65003
VOLUME ["/var/lib/peeragent"]
ENTRYPOINT ["dotnet", "PeerAgent.Agent.dll"]
