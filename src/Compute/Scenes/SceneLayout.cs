namespace UniCLift.Compute.Scenes;

/// <summary>Which data layout a scene directory was read from.</summary>
public enum SceneLayout { PanopticLifting, MessyRooms, Graphdeco, Nerfstudio, Colmap }
