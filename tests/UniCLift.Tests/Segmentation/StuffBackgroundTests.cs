namespace UniCLift.Tests.Segmentation;

using UniCLift.Compute.Losses;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Segmentation;
using UniCLift.Compute.Synthetic;
using UniCLift.Compute.Training;
using UniCLift.Tests.IO;
using UniCLift.Tests.Training;

/// <summary>Mask segments of a predicted stuff class are background, for the losses and the codebook's background vote.</summary>
public sealed class StuffBackgroundTests
{
    private const int Floor = 1, Wall = 2, Chair = 5;
    private static readonly IReadOnlySet<int> Stuff = new HashSet<int> { Floor, Wall };

    // 4x4 SAM-style view: the floor in two pieces (ids 3 and 4), the wall one piece (id 2), a chair (id 1), and the
    // top-right corner 0: an object the segmenter missed (void).
    private static readonly int[] Mask = { 2, 2, 0, 0, 2, 1, 1, 0, 3, 1, 1, 4, 3, 3, 4, 4 };
    private static readonly int[] Semantic = { Wall, Wall, 0, 0, Wall, Chair, Chair, 0, Floor, Chair, Chair, Floor, Floor, Floor, Floor, Floor };
    // Decoded codes: the room decodes to code 0, the chair to 6, the missed object to 9.
    private static readonly int[] Codes = { 0, 0, 9, 9, 0, 6, 6, 9, 0, 6, 6, 0, 0, 0, 0, 0 };

    [Fact]
    public void StuffSegmentsBecomeBackgroundAndThingsStay()
    {
        var result = StuffBackground.Apply(new LabelMap(4, 4, Mask), new LabelMap(4, 4, Semantic), Stuff);
        Assert.Equal(new[] { 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0 }, result.Labels);
    }

    [Fact]
    public void WholeSegmentsDecideByMajority()
    {
        // The chair segment has one floor-labelled pixel (a semantic edge off the instance edge): it stays whole.
        var semantic = (int[])Semantic.Clone();
        semantic[9] = Floor;
        var result = StuffBackground.Apply(new LabelMap(4, 4, Mask), new LabelMap(4, 4, semantic), Stuff);
        Assert.Equal(new[] { 1, 1, 1, 1 }, new[] { result.Labels[5], result.Labels[6], result.Labels[9], result.Labels[10] });
        // Without stuff classes nothing changes.
        var same = new LabelMap(4, 4, Mask);
        Assert.Same(same, StuffBackground.Apply(same, new LabelMap(4, 4, Semantic), new HashSet<int>()));
    }

    [Fact]
    public void CodebookBackgroundIsTheRoomOnceStuffSegmentsAreBackground()
    {
        var options = new CodebookOptions { MinCodeFraction = 0 };
        // As stored, the masks' only 0 pixels are the missed object: it would be picked as the background and the room
        // (code 0) kept as an instance.
        var raw = LabelCodebook.Build([Codes], [Mask], null, options);
        Assert.Equal(9, raw.BackgroundCode);
        Assert.Contains(0, raw.Codes);

        var mask = StuffBackground.Apply(new LabelMap(4, 4, Mask), new LabelMap(4, 4, Semantic), Stuff).Labels;
        var book = LabelCodebook.Build([Codes], [mask], null, options);
        Assert.Equal(0, book.BackgroundCode);
        Assert.Equal(1, book.TryGetId(6));
        Assert.DoesNotContain(0, book.Codes);
    }

    [Fact]
    public void StuffClassesAreReadFromTheScene()
    {
        var dir = Directory.CreateTempSubdirectory("uniclift-stuff-");
        try
        {
            Assert.Empty(StuffBackground.Read(dir.FullName));
            File.WriteAllText(Path.Combine(dir.FullName, StuffBackground.SceneFile),
                """{"generator": "x", "classes": [{"id": 0, "name": "void", "thing": false}, {"id": 1, "thing": false}, {"id": 3, "thing": true}]}""");
            Assert.Equal(new[] { 0, 1 }, StuffBackground.Read(dir.FullName).Order());
            // classes.json (detectron2's isthing) wins over scene.json.
            File.WriteAllText(Path.Combine(dir.FullName, StuffBackground.ClassesFile),
                """[{"id": 7, "name": "wall", "isthing": 0}, {"id": 8, "name": "chair", "isthing": 1}]""");
            Assert.Equal(new[] { 7 }, StuffBackground.Read(dir.FullName).Order());
        }
        finally { dir.Delete(true); }
    }

    [Theory]
    [InlineData("[{\"id\": 7, \"isthing\": 0", "not valid JSON")]                                    // truncated
    [InlineData("", "not valid JSON")]                                                                // empty
    [InlineData("[{\"id\": \"7\", \"isthing\": 0}]", "class 0 declares whether it is a thing but its \"id\" is \"7\"")]
    [InlineData("[{\"id\": 7, \"isthing\": 0}, {\"id\": 8, \"isthing\": 0.5}]", "class 1 has \"isthing\": 0.5")]
    [InlineData("[{\"id\": 7, \"thing\": \"no\"}]", "class 0 has \"thing\": \"no\"")]
    public void A_Malformed_Class_List_Is_An_Error_Naming_The_File_And_The_Entry(string json, string expected)
    {
        // It decides which mask segments become background: read wrongly, it would change the result in silence.
        var dir = Directory.CreateTempSubdirectory("uniclift-stuff-bad-");
        try
        {
            var path = Path.Combine(dir.FullName, StuffBackground.ClassesFile);
            File.WriteAllText(path, json);
            var e = Assert.Throws<InvalidDataException>(() => StuffBackground.Read(dir.FullName));
            Assert.StartsWith(path + ": ", e.Message);
            Assert.Contains(expected, e.Message);
            Assert.True(UniCLift.Compute.FailurePolicy.IsBadInput(e));
        }
        finally { dir.Delete(true); }
    }
    [Fact]
    public void TrainingLoadsSamStyleMasksWithTheirFloorAndWallPiecesAsBackground()
    {
        using var dir = new TempDir();
        var scene = TinyScenes.Write(dir, views: 3, width: 64, height: 48, corruption: CorruptionLevel.Sam);
        var stuff = StuffBackground.For(scene, true);
        Assert.Contains(SyntheticClasses.Floor, stuff);
        Assert.Contains(SyntheticClasses.Wall, stuff);
        Assert.DoesNotContain(SyntheticClasses.Of(ShapeKind.Box), stuff);
        Assert.Empty(StuffBackground.For(scene, false));

        using var data = TrainingData.Load(scene, null, stuff);
        long stuffPiecePixels = 0;
        foreach (var v in data.Views)
        {
            var view = scene.View(v.Name);
            var raw = SceneData.LoadMask(scene, view).Labels;
            var semantic = SceneData.LoadMaskSemantic(scene, view).Labels;
            for (int p = 0; p < raw.Length; p++)
            {
                bool isStuff = raw[p] > 0 && stuff.Contains(semantic[p]);
                if (isStuff) stuffPiecePixels++;
                Assert.Equal(isStuff ? 0 : raw[p], v.Mask.Labels[p]);
            }
            Assert.Equal(BoundaryMiner.Build(v.Mask).BoundaryPixels, v.Boundary.BoundaryPixels);
        }
        Assert.True(stuffPiecePixels > 0, "the SAM-style masks should give floor and wall pieces ids of their own");
    }
}
