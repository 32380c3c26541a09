namespace PeerAgent.Core.Oci;

/// <summary>Repository name and tag rules of the OCI distribution spec.</summary>
public static class OciNames
{
    /// <summary>True when <paramref name="name"/> matches <c>[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*</c> and is at most 255 characters.</summary>
    public static bool IsValidRepository(string name) => throw new NotImplementedException();

    /// <summary>True when <paramref name="tag"/> matches <c>[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}</c>.</summary>
    public static bool IsValidTag(string tag) => throw new NotImplementedException();
}
