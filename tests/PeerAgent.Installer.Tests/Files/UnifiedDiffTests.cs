using System.Text;
using PeerAgent.Installer.Files;

namespace PeerAgent.Installer.Tests.Files;

public sealed class UnifiedDiffTests
{
    [Fact]
    public void Format_ChangesFarApart_TwoHunksWithContext()
    {
        var before = string.Join('\n', Enumerable.Range(1, 20).Select(i => $"line {i}")) + "\n";
        var after = before.Replace("line 2\n", "line two\n", StringComparison.Ordinal).Replace("line 18\n", "line 18\nadded\n", StringComparison.Ordinal);

        var diff = UnifiedDiff.Format("/f", Encoding.UTF8.GetBytes(before), Encoding.UTF8.GetBytes(after));

        diff.Should().Be(
            "--- a/f\n+++ b/f\n" +
            "@@ -1,5 +1,5 @@\n line 1\n-line 2\n+line two\n line 3\n line 4\n line 5\n" +
            "@@ -16,5 +16,6 @@\n line 16\n line 17\n line 18\n+added\n line 19\n line 20\n");
    }

    [Fact]
    public void Format_Deleted_AllMinus()
    {
        UnifiedDiff.Format("/f", Encoding.UTF8.GetBytes("a\nb\n"), null).Should().Be("--- a/f\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n");
    }
}
