namespace UniCLift.Tests.Readers;

using UniCLift.Compute.IO;
using UniCLift.Compute.Scenes;
using UniCLift.Compute.Synthetic;
using UniCLift.Tests.IO;
using static LayoutFixtures;

/// <summary>Each malformed file fails with an InvalidDataException whose message names that file.</summary>
public class MalformedInputTests
{
    private static void AssertNamesFile(string file, Action read)
    {
        var e = Assert.Throws<InvalidDataException>(read);
        Assert.Contains(file, e.Message);
    }

    [Theory]
    [InlineData("{\"camera\": {\"K\": [[1,0,0],[0,1,0]], \"positions\": [], \"quaternions\": []}")] // truncated JSON
    [InlineData("{\"camera\": {\"positions\": [[0,0,0]], \"quaternions\": [[1,0,0,0]]}}")] // no K
    [InlineData("{\"camera\": {\"K\": [[1,0,0],[0,1,0]], \"positions\": [[0,0,0]], \"quaternions\": [[1,0,0,0]]}}")] // K not 3x3
    [InlineData("{\"camera\": {\"K\": [[1,0,-0.5],[0,-1,-0.5],[0,0,-1]], \"positions\": [[0,0,0]], \"quaternions\": [[1,0,0,0], [1,0,0,0]]}}")] // counts differ
    [InlineData("{\"camera\": {\"K\": [[1,0,-0.5],[0,-1,-0.5],[0,0,-1]], \"positions\": [[0,0,\"a\"]], \"quaternions\": [[1,0,0,0]]}}")] // not a number
    public void MessyRooms_MetadataJson(string json)
    {
        using var dir = new TempDir();
        WriteMessyRooms(dir.Path, Generated);
        var path = Path.Combine(dir.Path, "metadata.json");
        File.WriteAllText(path, json);
        AssertNamesFile(path, () => SceneInspector.Read(dir.Path));
    }

    [Fact]
    public void MessyRooms_MissingMaskAndBrokenNpy()
    {
        using var dir = new TempDir();
        WriteMessyRooms(dir.Path, Generated);
        var npy = Path.Combine(dir.Path, "detic_instance", Generated.Views[2].Name + ".npy");
        File.WriteAllBytes(npy, [0x93, (byte)'N', (byte)'U', (byte)'M', 1, 0, 4]); // truncated header
        var s = SceneInspector.Read(dir.Path);
        AssertNamesFile(npy, () => SceneData.LoadMask(s, s.Views[2]));
        File.Delete(npy);
        AssertNamesFile(npy[..^4], () => SceneInspector.Read(dir.Path)); // "<stem>.png|.npy: missing ..."
    }

    [Theory]
    [InlineData("{\"id\": 0}")] // not a list
    [InlineData("[{\"id\": 0, \"img_name\": \"0000\", \"width\": 32, \"height\": 24, \"position\": [0,0,0], \"rotation\": [[1,0,0],[0,1,0]], \"fx\": 20, \"fy\": 20}]")]
    [InlineData("[{\"id\": 0, \"img_name\": \"0000\", \"width\": 32, \"height\": 24, \"position\": [0,0,0], \"rotation\": [[1,0,0],[0,1,0],[0,0,1]], \"fy\": 20}]")]
    [InlineData("[{\"id\": 0, \"img_name\": \"0000\", \"width\": 32, \"height\": 24, \"position\": [0,0,0], \"rotation\": [[2,0,0],[0,1,0],[0,0,1]], \"fx\": 20, \"fy\": 20}]")]
    [InlineData("[{\"id\": 0, \"img_name\": \"0000\", \"width\": 32, \"height\": 24, \"position\": [0,0,0], \"rotation\": [[1,0,0],[0,1,0],[0,0,1]], \"fx\": -3, \"fy\": 20}]")]
    [InlineData("[]")]
    public void Graphdeco_CamerasJson(string json)
    {
        using var dir = new TempDir();
        WriteGraphdeco(dir.Path, Generated);
        var path = Path.Combine(dir.Path, "cameras.json");
        File.WriteAllText(path, json);
        AssertNamesFile(path, () => SceneInspector.Read(dir.Path));
    }

    [Fact]
    public void Graphdeco_AnImageOfAnotherAspectRatioThanItsCameraNamesTheImage()
    {
        // A downscaled image is fitted (the intrinsics scaled with it); another aspect ratio was stretched to, and the
        // scene trained on wrong rays to all background.
        using var dir = new TempDir();
        WriteGraphdeco(dir.Path, Generated);
        var cam = Generated.Views[1].Camera;
        var half = Path.Combine(dir.Path, "images", Generated.Views[0].Name + ".png");
        ImageIO.WriteRgb(half, new RgbImage((cam.Width + 1) / 2, (cam.Height + 1) / 2)); // rounded up: still its ratio
        var img = Path.Combine(dir.Path, "images", Generated.Views[1].Name + ".png");
        ImageIO.WriteRgb(img, new RgbImage(cam.Width, cam.Width));
        var e = Assert.Throws<InvalidDataException>(() => SceneInspector.Read(dir.Path));
        Assert.StartsWith(img + ": ", e.Message);
        Assert.Contains("another aspect ratio", e.Message);
        ImageIO.WriteRgb(img, new RgbImage(cam.Width, cam.Height));
        Assert.Equal(((cam.Width + 1) / 2, (cam.Height + 1) / 2), (SceneInspector.Read(dir.Path).Views[0].Camera.Width, SceneInspector.Read(dir.Path).Views[0].Camera.Height));
    }

    [Fact]
    public void Graphdeco_MissingImageNamesTheImageAndCamerasJson()
    {
        using var dir = new TempDir();
        WriteGraphdeco(dir.Path, Generated);
        var img = Path.Combine(dir.Path, "images", Generated.Views[1].Name + ".png");
        File.Delete(img);
        AssertNamesFile(img, () => SceneInspector.Read(dir.Path));
    }

    [Theory]
    [InlineData("{\"frames\": [")]
    [InlineData("{\"frames\": []}")]
    [InlineData("{\"frames\": [{\"file_path\": \"images/0000.png\", \"transform_matrix\": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]}")] // no fl_x
    [InlineData("{\"fl_x\": 20, \"frames\": [{\"file_path\": \"images/0000.png\", \"transform_matrix\": [[1,0,0,0],[0,1,0,0],[0,0,1,0]]}]}")] // 3 rows
    [InlineData("{\"fl_x\": 20, \"frames\": [{\"file_path\": \"images/0000.png\", \"transform_matrix\": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}], \"ply_file_path\": \"nope.ply\"}")]
    // Not pinhole cameras: read as one, they trained on wrong rays.
    [InlineData("{\"fl_x\": 20, \"camera_model\": \"EQUIRECTANGULAR\", \"frames\": [{\"file_path\": \"images/0000.png\", \"transform_matrix\": [[1,0,0,0],[0,1,0,0],[0,0,1,3],[0,0,0,1]]}]}")]
    [InlineData("{\"fl_x\": 20, \"camera_model\": 3, \"frames\": [{\"file_path\": \"images/0000.png\", \"transform_matrix\": [[1,0,0,0],[0,1,0,0],[0,0,1,3],[0,0,0,1]]}]}")]
    // Intrinsics normalised by the image size (0.8 of the width, not pixels).
    [InlineData("{\"fl_x\": 0.8, \"cx\": 0.5, \"cy\": 0.5, \"frames\": [{\"file_path\": \"images/0000.png\", \"transform_matrix\": [[1,0,0,0],[0,1,0,0],[0,0,1,3],[0,0,0,1]]}]}")]
    // A mirror (an axis flipped: determinant -1) passes every column test; its scene came out all background.
    [InlineData("{\"fl_x\": 20, \"frames\": [{\"file_path\": \"images/0000.png\", \"transform_matrix\": [[-1,0,0,0],[0,1,0,0],[0,0,1,3],[0,0,0,1]]}]}")]
    // A principal point far off the image (it trained to nothing, 0 instances).
    [InlineData("{\"fl_x\": 20, \"cx\": 5000, \"frames\": [{\"file_path\": \"images/0000.png\", \"transform_matrix\": [[1,0,0,0],[0,1,0,0],[0,0,1,3],[0,0,0,1]]}]}")]
    [InlineData("{\"fl_x\": 20, \"cy\": -300, \"frames\": [{\"file_path\": \"images/0000.png\", \"transform_matrix\": [[1,0,0,0],[0,1,0,0],[0,0,1,3],[0,0,0,1]]}]}")]
    public void Nerfstudio_TransformsJson(string json)
    {
        using var dir = new TempDir();
        WriteNerfstudio(dir.Path, Generated);
        var path = Path.Combine(dir.Path, "transforms.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidDataException>(() => SceneInspector.Read(dir.Path));
        Assert.Contains("transforms.json", e.Message);
    }

    [Theory]
    [InlineData("cameras.txt", "1 FISHEYE 32 24 20 16 12\n")]
    [InlineData("cameras.txt", "1 PINHOLE 32 24 20 20 16\n")]
    [InlineData("cameras.txt", "1 PINHOLE 32 24 20 abc 16 12\n")]
    [InlineData("images.txt", "1 1 0 0 0 0 0 0 1\n\n")]
    [InlineData("images.txt", "1 1 0 0 0 0 0 0 7 0000.png\n\n")]
    [InlineData("images.txt", "1 1 0 0 x 0 0 0 1 0000.png\n\n")]
    // Hand-written "known poses" without the POINTS2D lines: the second image was taken for the first one's points.
    [InlineData("images.txt", "1 1 0 0 0 0 0 0 1 0000.png\n2 1 0 0 0 0 0 0 1 0001.png\n")]
    [InlineData("points3D.txt", "1 0.5 0.5\n")]
    [InlineData("points3D.txt", "1 0.5 0.5 0.5 300 0 0 0.1\n")]
    public void Colmap_TextModel(string file, string content)
    {
        using var dir = new TempDir();
        WriteColmap(dir.Path, Generated);
        var path = Path.Combine(dir.Path, "sparse", "0", file);
        File.WriteAllText(path, "# comment\n" + content);
        AssertNamesFile(path, () => SceneInspector.Read(dir.Path));
    }

    [Fact]
    public void UnknownLayout_NamesTheFolderAndTheKnownLayouts()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<InvalidDataException>(() => SceneInspector.Read(dir.Path));
        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("transforms.json", e.Message);
    }

    [Fact]
    public void A_Folder_Where_A_Layout_Reads_An_Optional_File_Is_An_Error_Naming_It()
    {
        // points3D.ply, splits.json, a COLMAP points3D, cfg_args: a folder by that name was passed over as "no file", so a
        // scene loaded without its point cloud (a random start) or its splits (trained on its test views) in silence.
        using var dir = new TempDir();
        SyntheticSceneWriter.Write(dir.Path, Generated);
        var cloud = Path.Combine(dir.Path, "points3D.ply");
        File.Delete(cloud);
        Directory.CreateDirectory(cloud);
        AssertNamesFile(cloud, () => SceneInspector.Read(dir.Path));
        Directory.Delete(cloud);
        var splits = Path.Combine(dir.Path, "splits.json");
        File.Delete(splits);
        Directory.CreateDirectory(splits);
        var e = Assert.Throws<InvalidDataException>(() => SceneInspector.Read(dir.Path));
        Assert.Contains(splits, e.Message);
        Assert.Contains("is a folder", e.Message);
        Directory.Delete(splits);
        Assert.Null(SceneInspector.Read(dir.Path).PointCloudPath); // neither there: the layout's defaults, as before

        using var ns = new TempDir();
        WriteNerfstudio(ns.Path, Generated);
        var nsSplits = Path.Combine(ns.Path, "splits.json");
        Directory.CreateDirectory(nsSplits);
        AssertNamesFile(nsSplits, () => SceneInspector.Read(ns.Path));
        Directory.Delete(nsSplits);
        File.WriteAllText(nsSplits, "{\"train\": [], \"test\": []}");
        AssertNamesFile(nsSplits, () => SceneInspector.Read(ns.Path));
    }
}
