namespace UniCLift.Tests.Segmentation;

using UniCLift.Compute.Segmentation;

public class StrayGaussiansTests
{
    /// <summary>A scene built piece by piece: Gaussians as (centre, count, radius, label) balls, and a 10 x 10 floor of
    /// label 0 at z = 0 that gives the scene its size (cells of 0.03 of it: about 0.43).</summary>
    private sealed class Cloud
    {
        private readonly Random rng = new(5);
        public readonly List<float> Means = [];
        public readonly List<int> Labels = [];

        public Cloud() => Add((0, 0, 0), 4000, 0, 0);

        /// <summary>Adds a ball (radius 0: the floor plane around the centre); returns the range of its Gaussians.</summary>
        public Range Add((double X, double Y, double Z) at, int count, double radius, int label)
        {
            int start = Labels.Count;
            for (int i = 0; i < count; i++)
            {
                var (x, y, z) = radius == 0
                    ? (at.X + 10 * (rng.NextDouble() - 0.5), at.Y + 10 * (rng.NextDouble() - 0.5), at.Z)
                    : (at.X + radius * (2 * rng.NextDouble() - 1), at.Y + radius * (2 * rng.NextDouble() - 1), at.Z + radius * (2 * rng.NextDouble() - 1));
                Means.AddRange([(float)x, (float)y, (float)z]);
                Labels.Add(label);
            }
            return start..Labels.Count;
        }

        public int[] Clean(StrayOptions? options = null) =>
            StrayGaussians.Clean(Means.ToArray(), Enumerable.Repeat(2f, Labels.Count).ToArray(), Labels.ToArray(), options);
    }

    private static void AllAre(int[] labels, Range range, int label) =>
        Assert.All(labels[range], l => Assert.Equal(label, l));

    [Fact]
    public void Small_Pieces_Apart_From_An_Instance_Take_The_Label_Around_Them()
    {
        var scene = new Cloud();
        var chair = scene.Add((-2, 0, 0.6), 600, 0.5, 1);
        var table = scene.Add((2, 1, 0.6), 400, 0.5, 2);
        var chairOnFloor = scene.Add((3, -3, 0.02), 12, 0.05, 1);     // on the floor, 5 m from the chair
        var tableInChair = scene.Add((-2, 0, 0.6), 8, 0.1, 2);        // inside the chair
        var floater = scene.Add((0, -3, 2.5), 6, 0.05, 1);            // in the air, nothing near
        var lamp = scene.Add((-2, 3.5, 1.5), 150, 0.3, 1);            // a second piece of the chair's label, sizeable: kept
        var nearChair = scene.Add((-2, 0, 1.2), 10, 0.05, 1);         // touching the chair: part of it
        var floorInTable = scene.Add((2, 1, 0.6), 15, 0.1, 0);        // the background's own pieces are left alone

        var labels = scene.Clean();
        AllAre(labels, chair, 1);
        AllAre(labels, table, 2);
        AllAre(labels, chairOnFloor, 0);
        AllAre(labels, tableInChair, 1);
        AllAre(labels, floater, 0);
        AllAre(labels, lamp, 1);
        AllAre(labels, nearChair, 1);
        AllAre(labels, floorInTable, 0);
        Assert.Equal(labels, scene.Clean()); // a function of the model and its labels

        // The knobs: a lower bar keeps the floor piece (12 Gaussians, 1.6% of the label); a higher one drops the lamp.
        AllAre(scene.Clean(new StrayOptions { MinGaussians = 10, MinShare = 0.01 }), chairOnFloor, 1);
        var strict = scene.Clean(new StrayOptions { MinShare = 0.3 });
        Assert.All(strict[lamp], l => Assert.NotEqual(1, l));
    }

    [Fact]
    public void An_Instance_Made_Only_Of_Small_Pieces_Keeps_Its_Largest()
    {
        var scene = new Cloud();
        var cup = scene.Add((1, 1, 0.2), 15, 0.05, 3);
        var crumb = scene.Add((-3, -3, 0.2), 5, 0.05, 3);
        var labels = scene.Clean();
        AllAre(labels, cup, 3);
        AllAre(labels, crumb, 0);
    }

    [Fact]
    public void Degenerate_Input_Is_Returned_As_It_Is_Or_Refused()
    {
        // Every Gaussian at one point: no size to measure, nothing moves; non-finite means keep their labels.
        var one = StrayGaussians.Clean(new float[9], [2f, 2f, 2f], [1, 2, 1]);
        Assert.Equal([1, 2, 1], one);
        var scene = new Cloud();
        scene.Add((1, 1, 1), 50, 0.2, 4);
        scene.Means.AddRange([float.NaN, 0, 0]);
        scene.Labels.Add(4);
        Assert.Equal(4, scene.Clean()[^1]);
        Assert.Contains("2 means and 3 opacities for 3 labels",
            Assert.Throws<ArgumentException>(() => StrayGaussians.Clean(new float[6], new float[3], new int[3])).Message);
    }
}
