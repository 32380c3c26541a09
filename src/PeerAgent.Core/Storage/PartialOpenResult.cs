namespace PeerAgent.Core.Storage;

/// <summary>What <see cref="ContentStore.TryOpenPartial"/> did.</summary>
public enum PartialOpenResult
{
    /// <summary>The caller now holds the partial blob (new, or resumed with the pieces left by an earlier writer).</summary>
    Opened,

    /// <summary>The blob is already committed: read it with <see cref="ContentStore.TryOpenRead"/>.</summary>
    Committed,

    /// <summary>Another writer holds the partial blob; <see cref="ContentStore.WhenPartialClosedAsync"/> says when it lets go.</summary>
    Busy,

    /// <summary>The blob does not fit: larger than the quota, or everything that could be evicted would not make room.</summary>
    NoRoom,
}
