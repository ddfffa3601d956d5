import "../../../ticker.ts";
