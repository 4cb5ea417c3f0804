namespace UniCLift.Cluster.Tests;

using UniCLift.Compute.Scenes;
using UniCLift.Grains.Views;

public sealed class BoundaryIndexTests
{
    [Fact]
    public void BoundaryPixelsAreExactlyThoseWithADifferentNeighbour()
    {
        // 5x3: ids 1 in columns 0-1, 2 in columns 2-4, and one pixel of 3 at (4, 2).
        int[] labels =
        [
            1, 1, 2, 2, 2,
            1, 1, 2, 2, 2,
            1, 1, 2, 2, 3,
        ];
        var index = BoundaryIndexBuilder.Build(new LabelMap(5, 3, labels));

        // Reference: brute force over every pixel.
        var expected = new List<int>();
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 5; x++)
            {
                int i = y * 5 + x;
                bool b = (x > 0 && labels[i - 1] != labels[i]) || (x < 4 && labels[i + 1] != labels[i])
                      || (y > 0 && labels[i - 5] != labels[i]) || (y < 2 && labels[i + 5] != labels[i]);
                if (b) expected.Add(i);
            }
        Assert.Equal(expected, index.Pixels);
        Assert.Equal(index.Pixels.Length + 1, index.AcrossStart.Length);
        for (int k = 0; k < index.Pixels.Length; k++)
        {
            int p = index.Pixels[k];
            var across = index.Across[index.AcrossStart[k]..index.AcrossStart[k + 1]];
            Assert.NotEmpty(across);
            Assert.All(across, q => Assert.NotEqual(labels[p], labels[q]));
        }
        // The lone 3 at (4,2) = 14 sees 2 above (9) and left (13).
        int lone = Array.IndexOf(index.Pixels, 14);
        Assert.Equal([13, 9], index.Across[index.AcrossStart[lone]..index.AcrossStart[lone + 1]].Order().Reverse().ToArray());
    }

    [Fact]
    public void UniformMaskHasNoBoundary()
    {
        var index = BoundaryIndexBuilder.Build(new LabelMap(4, 4, Enumerable.Repeat(7, 16).ToArray()));
        Assert.Empty(index.Pixels);
        Assert.Equal([0], index.AcrossStart);
    }
}
