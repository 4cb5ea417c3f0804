namespace UniCLift.Tests.Segmentation;

using UniCLift.Compute.Segmentation;

public sealed class FragmentCleanupTests
{
    private const int U = FragmentCleanup.Unassigned;

    [Fact]
    public void SmallIslandsTakeTheMostCommonNeighbourLabel()
    {
        int[] labels =
        {
            1, 1, 1, 2, 2, 2,
            1, 7, 1, 2, 2, 2,
            1, 1, 1, 2, 8, 8,
            1, 1, 1, 2, 2, 2,
            0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 9,
        };
        // 7: 1 px surrounded by 1. 8: 2 px touching 2 on 4 sides (above/below x2) vs nothing else -> 2.
        // 9: 1 px corner, neighbours 0 (left) and 2 (above) -> tie 1:1, smaller label 0.
        int[] expected =
        {
            1, 1, 1, 2, 2, 2,
            1, 1, 1, 2, 2, 2,
            1, 1, 1, 2, 2, 2,
            1, 1, 1, 2, 2, 2,
            0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0,
        };
        // Each of them is its label's largest component, so that rule is off here (a largest component is a fragment
        // under the same 3 px as any other).
        var cleaned = FragmentCleanup.Clean(labels, 6, 6, new FragmentOptions { MinFraction = 0, MinPixels = 3, MinLargestFraction = 1 });
        Assert.Equal(expected, cleaned);
        Assert.Equal(7, labels[7]); // input untouched
    }

    [Fact]
    public void ThresholdKeepsLargeComponentsAndUnassignedAlwaysMoves()
    {
        int[] labels =
        {
            1, 1, U, U,
            1, 1, U, 2,
            3, 3, 2, 2,
        };
        // MinPixels 2: 3 (2 px) survives; U (3 px) is reassigned whatever its size. Edge votes: 1 twice (left of
        // (2,0) and (2,1)), 2 three times (below (3,0), right of and below (2,1)) -> 2.
        var cleaned = FragmentCleanup.Clean(labels, 4, 3, new FragmentOptions { MinFraction = 0, MinPixels = 2 });
        Assert.Equal(new[] { 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 2, 2 }, cleaned);
    }

    [Fact]
    public void DefaultThresholdIsAFractionOfTheImage()
    {
        Assert.Equal(308, FragmentOptions.Default.Threshold(640, 480)); // 0.1 % of the image
        Assert.Equal(50, new FragmentOptions { MinPixels = 50 }.Threshold(10, 10));
    }

    [Fact]
    public void WrongSizeIsRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => FragmentCleanup.Clean(new int[5], 2, 3));
        Assert.Contains("2x3", ex.Message);
    }

    [Fact]
    public void TheDefaultKeepsASmallObjectWholeAndRemovesASpeck()
    {
        // 100x100 view: background 0, a 6x5 object (0.3% of the view, the size of an object in a 50-object room) and a
        // 2-pixel speck of another label inside the background. The speck goes, the object stays.
        var labels = new int[100 * 100];
        for (int y = 40; y < 45; y++)
            for (int x = 20; x < 26; x++) labels[y * 100 + x] = 7;
        labels[80 * 100 + 80] = labels[80 * 100 + 81] = 3;
        var cleaned = FragmentCleanup.Clean(labels, 100, 100);
        Assert.Equal(30, cleaned.Count(l => l == 7));
        Assert.DoesNotContain(3, cleaned);
    }

    [Fact]
    public void AnObjectThisViewShowsSmallStaysWhileAPieceOfALargerOneGoes()
    {
        // 100x100 view, fragment threshold 10 px (0.1%), a label's largest component 5 px (0.05%). Label 7: a 3x2 object,
        // its only component here (6 px). Label 4: a 10x10 object and a 3x2 piece of it away from it (6 px). Label 3: a
        // 2x2 speck (4 px), its only component. Only the object of 7 stays of the three small components.
        var labels = new int[100 * 100];
        void Box(int label, int x0, int y0, int w, int h)
        {
            for (int y = y0; y < y0 + h; y++)
                for (int x = x0; x < x0 + w; x++) labels[y * 100 + x] = label;
        }
        Box(7, 20, 40, 3, 2);
        Box(4, 60, 10, 10, 10);
        Box(4, 60, 60, 3, 2);
        Box(3, 80, 80, 2, 2);
        var cleaned = FragmentCleanup.Clean(labels, 100, 100);
        Assert.Equal(6, cleaned.Count(l => l == 7));
        Assert.Equal(100, cleaned.Count(l => l == 4));
        Assert.DoesNotContain(3, cleaned);

        var before = FragmentCleanup.Clean(labels, 100, 100, FragmentOptions.Default with { MinLargestFraction = FragmentOptions.Default.MinFraction });
        Assert.DoesNotContain(7, before);
    }
}
