using System.Text;
using PeerAgent.Core.Oci;
using Tomlyn.Model;

namespace PeerAgent.Installer.Runtimes;

/// <summary>
/// containerd's <c>certs.d/&lt;host&gt;/hosts.toml</c> with the agent as the first host: the user's top-level keys
/// (server, ca, client, skip_verify) stay first, then the agent's table, then the user's own host tables.
/// </summary>
internal static class HostsToml
{
    public const string Header =
        "# PeerAgent: the node's agent first, then the hosts below; written by PeerAgent.Installer ('uninstall' restores the original).\n";

    /// <summary>The upstream the runtime falls back to; none for <c>_default</c>, which stands for every registry.</summary>
    public static string? ServerFor(string registry) => registry switch
    {
        InstallerSettings.AllRegistries => null,
        RegistryHosts.DockerHub => RegistryHosts.DockerHubEndpoint,
        _ => "https://" + registry,
    };

    public static string Render(string registry, string mirrorOrigin, string? original, string hostPath)
    {
        var agentTable = $"[host.{TomlText.Quote(mirrorOrigin)}]\n  capabilities = [\"pull\", \"resolve\"]\n";
        var text = new StringBuilder(Header);
        if (original is null)
        {
            if (ServerFor(registry) is { } server)
            {
                text.Append("server = ").Append(TomlText.Quote(server)).Append("\n\n");
            }

            text.Append(agentTable);
            return text.ToString();
        }

        var model = TomlText.Parse(original, hostPath);
        if (TomlText.Table(model, "host") is { } hosts && hosts.ContainsKey(mirrorOrigin))
        {
            throw new InstallerException($"{hostPath} already lists the agent {mirrorOrigin}; remove that [host] table, then install again");
        }

        var split = TomlText.FirstTableOffset(original);
        var top = original[..split];
        var rest = original[split..];
        text.Append(top);
        if (top.Length > 0 && !top.EndsWith('\n'))
        {
            text.Append('\n');
        }

        if (!model.ContainsKey("server") && ServerFor(registry) is { } fallback)
        {
            text.Append("server = ").Append(TomlText.Quote(fallback)).Append('\n');
        }

        if (text.Length > Header.Length && !text.ToString().EndsWith("\n\n", StringComparison.Ordinal))
        {
            text.Append('\n');
        }

        text.Append(agentTable);
        if (rest.Length > 0)
        {
            text.Append('\n').Append(rest);
            if (!rest.EndsWith('\n'))
            {
                text.Append('\n');
            }
        }

        var merged = text.ToString();
        if (FirstHost(TomlText.Parse(merged, hostPath)) != mirrorOrigin)
        {
            throw new InstallerException($"cannot put the agent first in {hostPath}: its layout is unusual; add [host.\"{mirrorOrigin}\"] before the other hosts by hand");
        }

        return merged;
    }

    /// <summary>The first <c>[host."..."]</c> table, which containerd tries first.</summary>
    public static string? FirstHost(TomlTable model) =>
        TomlText.Table(model, "host") is { Count: > 0 } hosts ? hosts.Keys.First() : null;

    public static bool AgentFirst(TomlTable model, string mirrorOrigin) =>
        FirstHost(model) is { } first && first.TrimEnd('/') == mirrorOrigin;
}
