namespace PeerAgent.Testing;

/// <summary>What <see cref="KubernetesSchema.ValidateAsync"/> found: the objects read and one line per error.</summary>
/// <param name="Objects">Kubernetes objects in the input (empty documents are not counted).</param>
/// <param name="Errors">Each names the object (<c>Kind/name</c>), the field path and what is wrong with it.</param>
public sealed record KubernetesSchemaResult(int Objects, IReadOnlyList<string> Errors)
{
    public bool IsValid => Errors.Count == 0;

    public override string ToString() =>
        IsValid ? $"{Objects} objects, all valid" : $"{Objects} objects, {Errors.Count} errors:\n{string.Join('\n', Errors)}";
}
