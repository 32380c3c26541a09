using Google.Protobuf;
using PeerAgent.Core.Oci;
using PeerAgent.Core.Swarm;
using PeerAgent.Protocol;
using PeerAgent.Protocol.V1;

namespace PeerAgent.Agent.Tests.Swarm;

public sealed class WireMappingTests
{
    [Fact]
    public void Sha256_RoundTrip_SameDigestFrom32RawBytes()
    {
        var digest = Digest.Compute("piece"u8);

        var wire = WireMapping.ToWire(digest);

        wire.Length.Should().Be(32);
        wire.ToByteArray().Should().Equal(Convert.FromHexString(digest.Hex));
        WireMapping.TryFromWire(wire, out var back).Should().BeTrue();
        back.Should().Be(digest);
    }

    [Fact]
    public void TryFromWire_Not32Bytes_False()
    {
        WireMapping.TryFromWire(ByteString.CopyFrom(new byte[31]), out _).Should().BeFalse();
        WireMapping.TryFromWire(ByteString.Empty, out _).Should().BeFalse();
    }

    [Fact]
    public void ToWire_Sha512Digest_Throws()
    {
        var act = () => WireMapping.ToWire(Digest.Compute("x"u8, "sha512"));

        act.Should().Throw<ArgumentException>().WithMessage("*is not sha256*");
    }

    [Fact]
    public void Host_RoundTrip_EveryField()
    {
        var host = new PeerHost("node-a/10.0.0.5:65002", "node-a", "zone-1", "region-1", "https://10.0.0.5:65002", 8);

        var back = WireMapping.FromWire(WireMapping.ToWire(host), "host", out var error);

        error.Should().BeNull();
        back.Should().Be(host);
    }

    [Theory]
    [InlineData(null, 0, "register.host is missing; it must carry at least host_id")]
    [InlineData("", 0, "register.host.host_id is empty")]
    [InlineData("a", -1, "register.host.upload_capacity must not be negative, not -1")]
    public void FromWire_BadHost_NamesTheField(string? hostId, int capacity, string expected)
    {
        var wire = hostId is null ? null : new HostInfo { HostId = hostId, UploadCapacity = capacity };

        WireMapping.FromWire(wire, "register.host", out var error).Should().BeNull();
        error.Should().Be(expected);
    }

    [Fact]
    public void FromWire_HostIdTooLong_Refused()
    {
        var wire = new HostInfo { HostId = new string('h', WireMapping.MaxHostIdLength + 1) };

        WireMapping.FromWire(wire, "host", out var error).Should().BeNull();
        error.Should().Be($"host.host_id has {WireMapping.MaxHostIdLength + 1} characters; at most {WireMapping.MaxHostIdLength} are allowed");
    }
}
