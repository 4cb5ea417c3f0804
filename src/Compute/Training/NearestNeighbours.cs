namespace UniCLift.Compute.Training;

/// <summary>k-nearest-neighbour distances on a uniform grid (3DGS's distCUDA2, for initial scales).</summary>
public static class NearestNeighbours
{
    /// <summary>For each point, the mean squared distance to its k nearest other points.</summary>
    public static float[] MeanSquaredDistanceToNearest(float[] positions, int k)
    {
        int n = positions.Length / 3;
        var result = new float[n];
        if (n <= 1) { Array.Fill(result, 1e-4f); return result; }
        // Cell size from the bounding box so that a cell holds a handful of points on average.
        float minX = float.MaxValue, minY = float.MaxValue, minZ = float.MaxValue, maxX = float.MinValue, maxY = float.MinValue, maxZ = float.MinValue;
        for (int i = 0; i < n; i++)
        {
            minX = Math.Min(minX, positions[i * 3]); maxX = Math.Max(maxX, positions[i * 3]);
            minY = Math.Min(minY, positions[i * 3 + 1]); maxY = Math.Max(maxY, positions[i * 3 + 1]);
            minZ = Math.Min(minZ, positions[i * 3 + 2]); maxZ = Math.Max(maxZ, positions[i * 3 + 2]);
        }
        double volume = Math.Max((maxX - minX) * (maxY - minY) * (maxZ - minZ), 1e-12);
        float cell = (float)Math.Max(Math.Cbrt(volume * 4.0 / n), 1e-4);
        var grid = new Dictionary<(int, int, int), List<int>>();
        (int, int, int) Key(int i) => ((int)MathF.Floor((positions[i * 3] - minX) / cell), (int)MathF.Floor((positions[i * 3 + 1] - minY) / cell), (int)MathF.Floor((positions[i * 3 + 2] - minZ) / cell));
        for (int i = 0; i < n; i++)
        {
            var key = Key(i);
            if (!grid.TryGetValue(key, out var list)) grid[key] = list = new List<int>();
            list.Add(i);
        }
        Parallel.For(0, n, i =>
        {
            Span<float> best = stackalloc float[k];
            var (cx, cy, cz) = Key(i);
            for (int radius = 1; ; radius++)
            {
                best.Fill(float.MaxValue);
                int found = 0;
                for (int dx = -radius; dx <= radius; dx++)
                for (int dy = -radius; dy <= radius; dy++)
                for (int dz = -radius; dz <= radius; dz++)
                {
                    if (!grid.TryGetValue((cx + dx, cy + dy, cz + dz), out var list)) continue;
                    foreach (var j in list)
                    {
                        if (j == i) continue;
                        float ddx = positions[j * 3] - positions[i * 3], ddy = positions[j * 3 + 1] - positions[i * 3 + 1], ddz = positions[j * 3 + 2] - positions[i * 3 + 2];
                        float d2 = ddx * ddx + ddy * ddy + ddz * ddz;
                        found++;
                        if (d2 < best[k - 1])
                        {
                            int p = k - 1;
                            while (p > 0 && best[p - 1] > d2) { best[p] = best[p - 1]; p--; }
                            best[p] = d2;
                        }
                    }
                }
                // Exact once the k-th distance is within the searched radius (or nothing more to find).
                if ((found >= k && best[k - 1] <= (radius * cell) * (radius * cell)) || found >= n - 1)
                {
                    double sum = 0; int cnt = 0;
                    for (int q = 0; q < k; q++) if (best[q] < float.MaxValue) { sum += best[q]; cnt++; }
                    result[i] = (float)(sum / Math.Max(cnt, 1));
                    break;
                }
            }
        });
        return result;
    }
}
