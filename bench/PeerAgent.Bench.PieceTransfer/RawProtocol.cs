using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using PeerAgent.Core.Pieces;
using PeerAgent.Core.Storage;
using PeerAgent.Hosting.Tls;

namespace PeerAgent.Bench.PieceTransfer;

/// <summary>
/// The raw-socket baseline: the same piece bytes from the same store, framed as little as possible.
/// Request: int32 piece index (-1 ends the connection). Response: int32 length, 32-byte sha256, then the bytes.
/// The server reads the next chunk while the previous one is written, like PeerService.
/// </summary>
internal static class RawProtocol
{
    public const int HeaderBytes = 4 + 32;

    public static async Task ServeAsync(TcpListener listener, CertificateSource? certificates, BlobReader blob, PieceLayout layout, byte[][] pieceHashes, int chunkBytes, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var socket = await listener.AcceptSocketAsync(cancellationToken);
            socket.NoDelay = true;
            _ = Task.Run(() => ServeConnectionAsync(socket, certificates, blob, layout, pieceHashes, chunkBytes, cancellationToken), cancellationToken);
        }
    }

    private static async Task ServeConnectionAsync(Socket socket, CertificateSource? certificates, BlobReader blob, PieceLayout layout, byte[][] pieceHashes, int chunkBytes, CancellationToken cancellationToken)
    {
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        var bufferA = ArrayPool<byte>.Shared.Rent(chunkBytes);
        var bufferB = ArrayPool<byte>.Shared.Rent(chunkBytes);
        var request = new byte[HeaderBytes];
        try
        {
            if (certificates is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsServerAsync(certificates.CreateServerOptions(), cancellationToken);
                stream = ssl;
            }

            while (true)
            {
                await stream.ReadExactlyAsync(request.AsMemory(0, 4), cancellationToken);
                var index = BinaryPrimitives.ReadInt32LittleEndian(request);
                if (index < 0)
                {
                    return;
                }

                var length = layout.LengthOf(index);
                BinaryPrimitives.WriteInt32LittleEndian(request, length);
                pieceHashes[index].CopyTo(request, 4);
                await stream.WriteAsync(request, cancellationToken);

                var offset = layout.OffsetOf(index);
                var remaining = length;
                var current = bufferA;
                var read = await blob.ReadAsync(offset, current.AsMemory(0, Math.Min(chunkBytes, remaining)), cancellationToken);
                Task? write = null;
                while (true)
                {
                    if (write is not null)
                    {
                        await write;
                    }

                    write = stream.WriteAsync(current.AsMemory(0, read), cancellationToken).AsTask();
                    offset += read;
                    remaining -= read;
                    if (remaining == 0)
                    {
                        break;
                    }

                    current = ReferenceEquals(current, bufferA) ? bufferB : bufferA;
                    read = await blob.ReadAsync(offset, current.AsMemory(0, Math.Min(chunkBytes, remaining)), cancellationToken);
                }

                await write;
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or EndOfStreamException or SocketException)
        {
            // Client went away.
        }
        finally
        {
            await stream.DisposeAsync();
            ArrayPool<byte>.Shared.Return(bufferA);
            ArrayPool<byte>.Shared.Return(bufferB);
        }
    }

    /// <summary>One client connection, used for one piece at a time.</summary>
    public sealed class Connection : IAsyncDisposable
    {
        private readonly Stream _stream;
        private readonly byte[] _header = new byte[HeaderBytes];

        private Connection(Stream stream) => _stream = stream;

        /// <param name="tls">Client options with the client certificate and the CA check (mutual TLS); null for plain TCP.</param>
        public static async Task<Connection> OpenAsync(IPEndPoint endpoint, SslClientAuthenticationOptions? tls, CancellationToken cancellationToken)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endpoint, cancellationToken);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (tls is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsClientAsync(tls, cancellationToken);
                stream = ssl;
            }

            return new Connection(stream);
        }

        /// <summary>Requests a piece; <paramref name="sink"/> gets each received run of bytes. Returns the announced sha256.</summary>
        public async Task<byte[]> FetchAsync(int index, int expectedLength, byte[] buffer, Func<ReadOnlyMemory<byte>, ValueTask> sink, CancellationToken cancellationToken)
        {
            BinaryPrimitives.WriteInt32LittleEndian(_header, index);
            await _stream.WriteAsync(_header.AsMemory(0, 4), cancellationToken);
            await _stream.ReadExactlyAsync(_header, cancellationToken);
            var length = BinaryPrimitives.ReadInt32LittleEndian(_header);
            if (length != expectedLength)
            {
                throw new InvalidDataException($"piece {index}: server says {length} bytes, layout says {expectedLength}");
            }

            var hash = _header.AsSpan(4, 32).ToArray();
            var remaining = length;
            while (remaining > 0)
            {
                var read = await _stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, remaining)), cancellationToken);
                if (read == 0)
                {
                    throw new EndOfStreamException($"piece {index}: connection closed {remaining} bytes short");
                }

                await sink(buffer.AsMemory(0, read));
                remaining -= read;
            }

            return hash;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                BinaryPrimitives.WriteInt32LittleEndian(_header, -1);
                await _stream.WriteAsync(_header.AsMemory(0, 4));
            }
            catch (IOException)
            {
            }

            await _stream.DisposeAsync();
        }
    }
}
