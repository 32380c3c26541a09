# syntax=docker/dockerfile:1
# The node agent. Multi-stage: restore (cached while only project files change), publish ReadyToRun
# (less JIT on a node's first pulls), then a small ASP.NET runtime image that runs as a non-root user.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props BannedSymbols.txt .editorconfig ./
COPY src/PeerAgent.Core/PeerAgent.Core.csproj src/PeerAgent.Core/
COPY src/PeerAgent.Agent/PeerAgent.Agent.csproj src/PeerAgent.Agent/
RUN dotnet restore src/PeerAgent.Agent/PeerAgent.Agent.csproj -r linux-x64 -p:PublishReadyToRun=true
COPY src/ src/
RUN dotnet publish src/PeerAgent.Agent/PeerAgent.Agent.csproj -c Release -r linux-x64 --self-contained false \
      --no-restore -p:PublishReadyToRun=true -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
# The aspnet image ships the unprivileged "app" user (uid 1654); the store must be writable by it.
RUN mkdir -p /var/lib/peeragent && chown app:app /var/lib/peeragent
COPY --from=build /app ./
USER app
ENV PEERAGENT_Store__DataDir=/var/lib/peeragent \
    DOTNET_gcServer=0
# mirror (loopback by default; the DaemonSet uses hostNetwork), metrics and health
EXPOSE 65001 65003
VOLUME ["/var/lib/peeragent"]
ENTRYPOINT ["dotnet", "PeerAgent.Agent.dll"]
