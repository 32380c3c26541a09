using System.Text.Json.Nodes;

namespace PeerAgent.FunctionalTests.Deploy;

/// <summary>Reads pod specs of rendered workloads.</summary>
internal static class Pods
{
    public static IEnumerable<JsonObject> Containers(JsonObject podSpec, bool init = true) =>
        (init ? Items(podSpec["initContainers"]) : []).Concat(Items(podSpec["containers"]));

    public static JsonObject Container(JsonObject podSpec, string name) =>
        Containers(podSpec).SingleOrDefault(c => (string?)c["name"] == name)
        ?? throw new InvalidOperationException($"no container {name} in [{string.Join(", ", Containers(podSpec).Select(c => (string?)c["name"]))}]");

    public static IEnumerable<string> Names(JsonObject podSpec, string key) => Items(podSpec[key]).Select(c => (string)c["name"]!);

    public static IReadOnlyList<string> Args(JsonObject container) => Strings(container["args"]);

    /// <summary>The value of <paramref name="flag"/> in an argument list, or null.</summary>
    public static string? Flag(IReadOnlyList<string> args, string flag)
    {
        var i = args.ToList().IndexOf(flag);
        return i >= 0 && i + 1 < args.Count ? args[i + 1] : null;
    }

    public static IReadOnlyList<string> Flags(IReadOnlyList<string> args, string flag) =>
        args.Select((a, i) => (a, i)).Where(p => p.a == flag && p.i + 1 < args.Count).Select(p => args[p.i + 1]).ToList();

    /// <summary>Environment variables with a literal value.</summary>
    public static Dictionary<string, string?> Env(JsonObject container) =>
        Items(container["env"]).ToDictionary(e => (string)e["name"]!, e => (string?)e["value"]);

    public static JsonObject EnvVar(JsonObject container, string name) =>
        Items(container["env"]).Single(e => (string?)e["name"] == name);

    public static IEnumerable<JsonObject> Volumes(JsonObject podSpec) => Items(podSpec["volumes"]);

    public static JsonObject Volume(JsonObject podSpec, string name) => Volumes(podSpec).Single(v => (string?)v["name"] == name);

    public static IEnumerable<JsonObject> Mounts(JsonObject container) => Items(container["volumeMounts"]);

    /// <summary>hostPath volumes by path.</summary>
    public static Dictionary<string, JsonObject> HostPaths(JsonObject podSpec) =>
        Volumes(podSpec).Where(v => v["hostPath"] is not null).ToDictionary(v => (string)v["hostPath"]!["path"]!, v => v);

    /// <summary>The host path of the hostPath volume mounted at <paramref name="mountPath"/> in <paramref name="container"/>, else null.</summary>
    public static string? HostPathAt(JsonObject podSpec, JsonObject container, string mountPath)
    {
        var mount = Mounts(container).SingleOrDefault(m => (string?)m["mountPath"] == mountPath);
        return mount is null ? null : (string?)Volume(podSpec, (string)mount["name"]!)["hostPath"]?["path"];
    }

    public static IEnumerable<JsonObject> Items(JsonNode? node) => node is JsonArray array ? array.OfType<JsonObject>() : [];

    public static IReadOnlyList<string> Strings(JsonNode? node) =>
        node is JsonArray array ? array.Select(a => a!.ToString()).ToList() : [];
}
