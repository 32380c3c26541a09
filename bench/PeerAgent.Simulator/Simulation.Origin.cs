namespace PeerAgent.Simulator;

/// <summary>
/// The origin lane (the agent's OriginLane): one sequential read of a piece range, storing each piece that is
/// neither present nor claimed by a peer request and reading past (still paying for) the others; when only
/// claimed pieces are left it closes the body and waits for peers, then opens a new Range at the first open piece.
/// </summary>
internal sealed partial class Simulation
{
    private void StartOrigin(LayerDownload download, int start, int end, bool granted)
    {
        if (download.OriginRunning)
        {
            return;
        }

        download.OriginRunning = true;
        download.OriginGranted = granted;
        download.OriginStart = start;
        download.OriginEnd = end;
        download.OriginEpoch++;
        OriginTop(download);
    }

    /// <summary>The top of the lane's loop: finished, wait for peers, or open a Range at the first open piece.</summary>
    private void OriginTop(LayerDownload download)
    {
        var piece = download.FirstOpen(download.OriginStart, download.OriginEnd);
        if (piece < 0)
        {
            if (download.AllPresent(download.OriginStart, download.OriginEnd))
            {
                download.OriginRunning = false;
                download.OriginWaiting = false;
                Unpark(download); // its stripe is in; the rest comes from peers
                return;
            }

            download.OriginWaiting = true;
            Enqueue(Now + OriginPeerWait, new SimEvent(EventKind.OriginWake, download.Node.Index, download.Layer.Index, null, download.OriginEpoch));
            return;
        }

        Enqueue(Now + Rtt(download.Node, _origin), new SimEvent(EventKind.OriginOpen, download.Node.Index, download.Layer.Index, piece, download.OriginEpoch));
    }

    private void OnOriginOpen(LayerDownload download, long epoch, int piece)
    {
        if (epoch == download.OriginEpoch && download.OriginRunning && download.Node.Alive)
        {
            ReadOriginPiece(download, piece);
        }
    }

    private void OnOriginWake(LayerDownload download, long epoch)
    {
        if (epoch == download.OriginEpoch && download.OriginRunning && download.OriginWaiting && download.Node.Alive)
        {
            download.OriginWaiting = false;
            OriginTop(download);
        }
    }

    private void ReadOriginPiece(LayerDownload download, int piece)
    {
        if (piece >= download.OriginEnd)
        {
            OriginTop(download);
            return;
        }

        var skip = download.Has(piece) || !download.TryClaim(piece);
        download.OriginFlow = StartFlow(_origin, download, piece, request: null, skip);
    }

    private void OnOriginPieceRead(Flow flow)
    {
        var download = flow.Download;
        download.OriginFlow = null;
        if (!flow.Skip)
        {
            download.Release(flow.Piece);
            if (download.Store(flow.Piece))
            {
                download.OriginStoredBytes += flow.Bytes;
                OnStored(download, flow.Piece);
            }

            if (download.Done)
            {
                Complete(download);
                return;
            }
        }

        ReadOriginPiece(download, flow.Piece + 1);
    }

    private void StopOrigin(LayerDownload download)
    {
        if (!download.OriginRunning)
        {
            return;
        }

        download.OriginRunning = false;
        download.OriginWaiting = false;
        download.OriginEpoch++;
        if (download.OriginFlow is { } flow)
        {
            Abort(flow);
            if (!flow.Skip)
            {
                download.Release(flow.Piece);
            }

            download.OriginFlow = null;
        }
    }
}
