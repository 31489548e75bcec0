// Renderer. Ambient types for Vite-handled imports.
declare module '*.css' {}
