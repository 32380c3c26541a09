using System.Buffers;
using Google.Protobuf;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Swarm;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Protocol;

/// <summary>
/// The one conversion between the wire types of peer.proto and scheduler.proto and the domain types: piece digests
/// travel as their 32 raw sha256 bytes, and a host as <see cref="HostInfo"/>. The agent and the scheduler both
/// convert here, so they cannot disagree on a field.
/// </summary>
public static class WireMapping
{
    /// <summary>Longest host id accepted; ids are names, and the scheduler keeps every one in memory.</summary>
    public const int MaxHostIdLength = 256;

    private const int Sha256Bytes = 32;

    /// <summary>The 32 raw bytes of a sha256 digest; throws when <paramref name="sha256"/> is another algorithm.</summary>
    public static ByteString ToWire(Digest sha256)
    {
        Span<byte> hash = stackalloc byte[Sha256Bytes];
        if (sha256.Algorithm != "sha256"
            || Convert.FromHexString(sha256.Hex, hash, out _, out var written) != OperationStatus.Done
            || written != Sha256Bytes)
        {
            throw new ArgumentException($"piece digest {sha256} is not sha256", nameof(sha256));
        }

        return ByteString.CopyFrom(hash);
    }

    /// <summary>Each digest as its 32 raw bytes (see <see cref="ToWire(Digest)"/>).</summary>
    public static ByteString[] ToWire(IReadOnlyList<Digest> sha256)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        var wire = new ByteString[sha256.Count];
        for (var i = 0; i < wire.Length; i++)
        {
            wire[i] = ToWire(sha256[i]);
        }

        return wire;
    }

    /// <summary>A sha256 digest from its raw bytes; false unless there are exactly 32.</summary>
    public static bool TryFromWire(ByteString bytes, out Digest sha256)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length != Sha256Bytes)
        {
            sha256 = default;
            return false;
        }

        sha256 = Digest.FromHash("sha256", bytes.Span);
        return true;
    }

    public static HostInfo ToWire(PeerHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        return new HostInfo
        {
            HostId = host.HostId,
            NodeName = host.NodeName,
            Zone = host.Zone,
            Region = host.Region,
            PeerAddress = host.PeerAddress,
            UploadCapacity = host.UploadCapacity,
        };
    }

    /// <summary>
    /// The host a message carries, or null with <paramref name="error"/> saying what is wrong, naming
    /// <paramref name="field"/> (e.g. <c>register.host</c>): it must be present, with a host id of at most
    /// <see cref="MaxHostIdLength"/> characters and no negative upload capacity.
    /// </summary>
    public static PeerHost? FromWire(HostInfo? host, string field, out string? error)
    {
        error = host switch
        {
            null => $"{field} is missing; it must carry at least host_id",
            { HostId.Length: 0 } => $"{field}.host_id is empty",
            { HostId.Length: > MaxHostIdLength } => $"{field}.host_id has {host.HostId.Length} characters; at most {MaxHostIdLength} are allowed",
            { UploadCapacity: < 0 } => $"{field}.upload_capacity must not be negative, not {host.UploadCapacity}",
            _ => null,
        };
        return error is null ? new PeerHost(host!.HostId, host.NodeName, host.Zone, host.Region, host.PeerAddress, host.UploadCapacity) : null;
    }
}
