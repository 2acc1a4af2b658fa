// The chart library, in its own lazily loaded chunk: only the pieces the dashboard draws.
import { init, use, type EChartsCoreOption, type EChartsType } from 'echarts/core';
import { BarChart, HeatmapChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

use([BarChart, HeatmapChart, LineChart, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

export { init, type EChartsCoreOption, type EChartsType };
